/**
 * Test helpers for the emulator under workerd: calls to the one emulator object, the control API,
 * and independent checks of HS256 tokens and webhook signatures (written here with WebCrypto, not
 * with ../jwt.ts or ../signature.ts, so a bug there cannot hide itself).
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { KaleyraEmulator } from "./KaleyraEmulator";
import { EMULATOR_OBJECT_NAME } from "./name";

export const ORIGIN = "http://emulator.local";
/** The SDK info a test client sends in its Socket.IO CONNECT. */
export const TEST_SDK_INFO = { sdkName: "kaleyra-edge", sdkVersion: "0.1.0", clientName: "kaleyra-edge", client: "test", userAgent: "vitest" };

export function emulator(): DurableObjectStub<KaleyraEmulator> {
  const ns = env.KALEYRA_EMULATOR;
  if (!ns) throw new Error("KALEYRA_EMULATOR is not bound (vitest.config.ts uses wrangler.local.toml)");
  return ns.get(ns.idFromName(EMULATOR_OBJECT_NAME));
}

export function emulatorFetch(request: Request): Promise<Response> {
  return emulator().fetch(request);
}

/** Answers in tests are read field by field, so they are loosely typed on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Answer {
  status: number;
  json: Json;
  text: string;
  headers: Headers;
}

export async function call(method: string, path: string, options: { body?: unknown; rawBody?: string; apiKey?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers.apikey = options.apiKey;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await emulator().fetch(new Request(`${ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body }) }));
  const text = await response.text();
  let json: Json;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

let appCounter = 0;

export interface TestApp {
  appId: string;
  apiKey: string;
  companyId: string;
  signingSecret: string;
}

export async function resetEmulator(): Promise<void> {
  const answer = await call("POST", "/control/reset");
  if (answer.status !== 204) throw new Error(`reset failed: ${answer.status} ${answer.text}`);
}

export async function createApp(): Promise<TestApp> {
  appCounter += 1;
  const answer = await call("POST", "/control/apps", { body: { appId: `mAppId_t${appCounter}_${crypto.randomUUID().slice(0, 8)}` } });
  if (answer.status !== 201) throw new Error(`create app failed: ${answer.status} ${answer.text}`);
  return answer.json as TestApp;
}

export async function createUser(app: TestApp, userId: string, role: "plus" | "basic" = "plus"): Promise<void> {
  const answer = await call("POST", "/v2/users", { apiKey: app.apiKey, body: { user_id: userId, role } });
  if (answer.status !== 201) throw new Error(`create user failed: ${answer.status} ${answer.text}`);
}

export async function mint(app: TestApp, userId: string, expiresIn = 3_600): Promise<{ access_token: string; expires_at: string; user_id: string }> {
  const answer = await call("POST", "/v2/sdk/credentials", { apiKey: app.apiKey, body: { user_id: userId, expires_in: expiresIn } });
  if (answer.status !== 200) throw new Error(`mint failed: ${answer.status} ${answer.text}`);
  return answer.json;
}

export async function createRoom(app: TestApp, userIds: string[]): Promise<{ room_id: string; participants: { user_id: string; access_link: string }[] }> {
  const answer = await call("POST", "/v2/rooms", { apiKey: app.apiKey, body: { participants: userIds.map((user_id) => ({ user_id })) } });
  if (answer.status !== 201) throw new Error(`create room failed: ${answer.status} ${answer.text}`);
  return answer.json;
}

export async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const answer = await call("PUT", "/control/faults", { body: faults });
  if (answer.status !== 200) throw new Error(`set faults failed: ${answer.status} ${answer.text}`);
}

export async function setClockOffset(offsetMs: number): Promise<void> {
  const answer = await call("PUT", "/control/clock", { body: { offsetMs } });
  if (answer.status !== 200) throw new Error(`set clock failed: ${answer.status} ${answer.text}`);
}

export async function heldRequests(): Promise<number> {
  return runInDurableObject(emulator(), (instance: KaleyraEmulator) => instance.heldRequests());
}

/** Polls until `check` holds; fails after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A raw WebSocket to the emulator's Socket.IO endpoint at `url` whose text frames queue up for
 * `next()`; with `skipPings` the Engine.IO pings ("2") are left out of the queue.
 */
export async function rawEmulatorSocket(url: string, { skipPings = false } = {}) {
  const response = await emulator().fetch(new Request(url, { headers: { Upgrade: "websocket" } }));
  if (response.status !== 101) throw new Error(`socket upgrade answered ${response.status}`);
  const ws = response.webSocket as WebSocket;
  ws.accept();
  const queue: string[] = [];
  let closed: number | undefined;
  ws.addEventListener("message", (e) => {
    if (!(skipPings && e.data === "2")) queue.push(String(e.data));
  });
  ws.addEventListener("close", (e) => {
    closed = e.code;
  });
  return {
    ws,
    async next(): Promise<string> {
      await waitUntil(async () => queue.length > 0, "a frame");
      return queue.shift() as string;
    },
    pending: () => queue.length,
    closed: () => closed,
  };
}

/** Resolves with the promise's value, or "pending" if it has not settled within `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    return await Promise.race([promise, new Promise<"pending">((r) => (timer = setTimeout(() => r("pending"), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

type Deliver = (request: Request) => Promise<Response>;

/** Replaces the emulator object's webhook delivery (in-process); undefined restores the default. */
export async function replaceDelivery(deliver: Deliver | undefined): Promise<void> {
  await runInDurableObject(emulator(), (instance: KaleyraEmulator) => {
    const target = instance as unknown as { deliverWebhook?: Deliver };
    if (deliver === undefined) delete target.deliverWebhook;
    else target.deliverWebhook = deliver;
  });
}

// Independent crypto checks.

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): string {
  return atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
}

async function hmac(secret: string, data: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
}

/** Decodes a JWT and checks its HS256 signature with `secret`. */
export async function decodeAndVerifyHs256(token: string, secret: string): Promise<{ header: Json; claims: Json; signatureValid: boolean }> {
  const [h = "", c = "", s = ""] = token.split(".");
  const expected = b64url(await hmac(secret, `${h}.${c}`));
  return { header: JSON.parse(fromB64url(h)), claims: JSON.parse(fromB64url(c)), signatureValid: expected === s };
}

/** Signs claims as HS256 with `secret`, for tokens the emulator never minted. */
export async function forgeHs256(claims: Record<string, unknown>, secret: string, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): Promise<string> {
  const input = `${b64url(encoder.encode(JSON.stringify(header)))}.${b64url(encoder.encode(JSON.stringify(claims)))}`;
  return `${input}.${b64url(await hmac(secret, input))}`;
}

/** The hex HMAC-SHA256 of `<t>.<body>` keyed with the API key: the expected `v0`. */
export async function expectedSignature(apiKey: string, t: number, body: string): Promise<string> {
  return [...(await hmac(apiKey, `${t}.${body}`))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
