/**
 * The demo page and its small backend (docs/demo.md). Local only: dev/index.ts mounts it when
 * `npm start` sets DEMO_APP_ID; the deployed Worker (worker/index.ts) has none of it.
 *
 * - `GET /`, `GET /demo/*`: the page, from the `[assets]` directory dev/demo/public (binding
 *   ASSETS; the client bundle in it is built by dev/demo/build.mjs before `npm start`).
 * - `POST /demo/token {userId, appId?}`: what a tenant's backend does for its token provider:
 *   creates the user in the emulator if missing and mints an access token with the app's API key.
 * - `POST /demo/room {userIds, appId?}`: creates a room with those users (created if missing) and
 *   answers each participant's access link; tells the orchestrator the room calls them, as a tenant
 *   does (`PUT /v1/tenant/.../rooms/:roomId/users`), so the room's v0 on_call_incoming wakes them.
 * - `POST /demo/room/:roomId/end {appId?}`: ends the room; its link sessions end with `call_ended`.
 *
 * The emulator is called in-process (env.KALEYRA_EMULATOR). Errors are the emulator's
 * `{ error, message }` with its status. The routes mint tokens for anyone who asks: that is what
 * makes it a demo, and why it is never deployed.
 */
import { isAppId } from "../../core/app";
import { isUserId } from "../../core/protocol";
import { EMULATOR_OBJECT_NAME } from "../emulator/name";
import type { DevEnv } from "../bindings";
import { appState } from "../../durable-objects/stubs";

/** Tokens the demo backend mints live this long, unless the emulator's tokenLifetimeSec fault says otherwise. */
const DEMO_TOKEN_LIFETIME_SEC = 3_600;
const MAX_BODY_CHARS = 4_096;
const MAX_ROOM_USERS = 10;
const ROOM_ID = /^[A-Za-z0-9_-]{1,128}$/;

interface EmulatorAnswer {
  status: number;
  // The emulator's answers are read field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** Answers the demo's requests; undefined for every other request (they go to the orchestrator). */
export async function demo(request: Request, env: DevEnv): Promise<Response | undefined> {
  const { pathname } = new URL(request.url);
  const method = request.method;
  // The service worker is served from / so that its scope is the whole page (docs/push.md).
  if ((method === "GET" || method === "HEAD") && (pathname === "/" || pathname === "/demo-sw.js" || pathname.startsWith("/demo/"))) {
    if (!env.ASSETS) return text(404, "The demo page needs the [assets] section of wrangler.local.toml (see docs/demo.md).");
    const answer = await env.ASSETS.fetch(request);
    const response = new Response(answer.body, answer);
    // A page edited (or a client rebuilt) while wrangler runs shows on the next reload.
    response.headers.set("cache-control", "no-store");
    return response;
  }
  if (method !== "POST") return undefined;
  if (pathname === "/demo/token") return token(request, env);
  if (pathname === "/demo/room") return room(request, env);
  const end = /^\/demo\/room\/([^/]+)\/end$/.exec(pathname);
  if (end) return endRoom(request, env, decodeURIComponent(end[1] ?? ""));
  return undefined;
}

async function token(request: Request, env: DevEnv): Promise<Response> {
  const body = await readBody(request, ["userId", "appId"]);
  if (body instanceof Response) return body;
  if (!isUserId(body.userId)) return fail(400, "bad_request", "userId: 1..128 of A-Z a-z 0-9 _ . @ + -", "userId");
  const key = await apiKey(env, body.appId);
  if (key instanceof Response) return key;
  const user = await ensureUser(env, key, body.userId);
  if (user) return user;
  const minted = await emulator(env, "POST", "/v2/sdk/credentials", { user_id: body.userId, expires_in: DEMO_TOKEN_LIFETIME_SEC }, key);
  if (minted.status !== 200) return relay(minted);
  return Response.json({ token: minted.json.access_token, expiresAt: Date.parse(minted.json.expires_at) });
}

async function room(request: Request, env: DevEnv): Promise<Response> {
  const body = await readBody(request, ["userIds", "appId"]);
  if (body instanceof Response) return body;
  const userIds = body.userIds;
  if (!Array.isArray(userIds) || userIds.length < 1 || userIds.length > MAX_ROOM_USERS || !userIds.every(isUserId) || new Set(userIds).size !== userIds.length) {
    return fail(400, "bad_request", `userIds: 1..${MAX_ROOM_USERS} distinct user ids`, "userIds");
  }
  const key = await apiKey(env, body.appId);
  if (key instanceof Response) return key;
  for (const userId of userIds) {
    const user = await ensureUser(env, key, userId);
    if (user) return user;
  }
  const created = await emulator(env, "POST", "/v2/rooms", { participants: userIds.map((user_id) => ({ user_id })) }, key);
  if (created.status !== 201) return relay(created);
  const participants = (created.json.participants as { user_id: string; access_link: string }[]).map((p) => ({ userId: p.user_id, accessLink: p.access_link }));
  await appState(env, String(body.appId ?? env.DEMO_APP_ID)).setRoomUsers(created.json.room_id, userIds);
  return Response.json({ roomId: created.json.room_id, participants }, { status: 201 });
}

async function endRoom(request: Request, env: DevEnv, roomId: string): Promise<Response> {
  const body = await readBody(request, ["appId"]);
  if (body instanceof Response) return body;
  if (!ROOM_ID.test(roomId)) return fail(400, "bad_request", "no such room id", "roomId");
  const key = await apiKey(env, body.appId);
  if (key instanceof Response) return key;
  const ended = await emulator(env, "POST", `/v2/rooms/${roomId}/end`, undefined, key);
  if (ended.status !== 200) return relay(ended);
  return Response.json({ roomId: ended.json.room_id, status: ended.json.status });
}

/** The app's Kaleyra API key: the demo app's from `npm start`, any other app's from the emulator's control API. */
async function apiKey(env: DevEnv, appId: unknown): Promise<string | Response> {
  const id = appId ?? env.DEMO_APP_ID;
  if (!isAppId(id)) return fail(400, "bad_request", "appId must look like mAppId_xxx", "appId");
  if (id === env.DEMO_APP_ID && env.DEMO_KALEYRA_API_KEY) return env.DEMO_KALEYRA_API_KEY;
  const app = await emulator(env, "GET", `/control/apps/${id}`);
  if (app.status !== 200) return fail(404, "app_not_found", `the emulator has no app '${id}'`, "appId");
  return app.json.apiKey as string;
}

/** Creates the user (role plus) unless it exists; a Response when that failed. */
async function ensureUser(env: DevEnv, key: string, userId: string): Promise<Response | undefined> {
  const created = await emulator(env, "POST", "/v2/users", { user_id: userId, role: "plus" }, key);
  if (created.status === 201 || (created.status === 409 && created.json?.error === "user_already_exists")) return undefined;
  return relay(created);
}

async function emulator(env: DevEnv, method: string, path: string, body?: unknown, apiKey?: string): Promise<EmulatorAnswer> {
  const ns = env.KALEYRA_EMULATOR;
  if (!ns) return { status: 503, json: { error: "unavailable", message: "no emulator bound (wrangler.local.toml)" } };
  const headers: Record<string, string> = {};
  if (apiKey !== undefined) headers.apikey = apiKey;
  if (body !== undefined) headers["content-type"] = "application/json";
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await ns.get(ns.idFromName(EMULATOR_OBJECT_NAME)).fetch(new Request(`http://emulator.local${path}`, init));
  const raw = await response.text();
  try {
    return { status: response.status, json: raw === "" ? undefined : JSON.parse(raw) };
  } catch {
    return { status: response.status, json: { error: "unavailable", message: raw.slice(0, 200) } };
  }
}

/** The JSON object body, holding only `allowed` keys (an empty body is `{}`). */
async function readBody(request: Request, allowed: readonly string[]): Promise<Record<string, unknown> | Response> {
  const raw = await request.text();
  if (raw.length > MAX_BODY_CHARS) return fail(413, "bad_request", "the body is too large", "body");
  let value: unknown;
  try {
    value = raw.trim() === "" ? {} : JSON.parse(raw);
  } catch {
    return fail(400, "bad_request", "the body must be JSON", "body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(400, "bad_request", "the body must be a JSON object", "body");
  const extra = Object.keys(value).find((k) => !allowed.includes(k));
  if (extra !== undefined) return fail(400, "bad_request", `unknown field '${extra}'`, extra);
  return value as Record<string, unknown>;
}

function relay(answer: EmulatorAnswer): Response {
  const error = typeof answer.json?.error === "string" ? answer.json.error : "unavailable";
  const message = typeof answer.json?.message === "string" ? answer.json.message : `the emulator answered ${answer.status}`;
  return fail(answer.status >= 400 ? answer.status : 502, error, message);
}

function fail(status: number, error: string, message: string, field?: string): Response {
  return Response.json(field === undefined ? { error, message } : { error, message, field }, { status });
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
