/**
 * The WebSocket upgrade route: validates the client's configuration against the registry and
 * forwards the upgrade to the user's session object. Checks run in a fixed order (upgrade,
 * configured, session key, query keys, app, origin) so a client always sees the first thing to
 * fix. Every check that does not need the app comes before the app is looked up, and an unknown
 * app and a registered one with another environment/region get the same answer: no refusal tells
 * which apps exist or which pair an app has (docs/security.md says what a successful upgrade does
 * tell). Access links never travel in the URL: a link socket names its session by the link's
 * digest (core/access-link.ts) and proves it with the link in its first frame.
 */
import { Hono } from "hono";
import { isAppId } from "../core/app";
import { invalidInput, kaleyraError, type ErrorCode } from "../core/errors";
import { LINK_DIGEST_PATTERN } from "../core/access-link";
import { attachKey, AttachLimiter } from "../core/attach-limit";
import { isUserId } from "../core/protocol";
import { fail, ok, type Result } from "../core/result";
import { apps, cachedApp, forwardUpgrade, refuseUpgrade, type AppRecord, type Env, type SessionKey, type SessionRoute } from "../durable-objects";
import { errorResponse } from "./errors";

export type AppLookup = (appId: string) => Promise<AppRecord | null>;

const QUERY_KEYS: readonly string[] = ["environment", "region", "userId", "link"];

const refuse = (code: ErrorCode, field?: string) => fail<SessionRoute>(kaleyraError(code, field));
const badQuery = (field: string, reason: string) => fail<SessionRoute>(invalidInput("bad_request", [{ field, reason }]));

export async function parseSocketRequest(request: Request, appId: string, lookupApp: AppLookup): Promise<Result<SessionRoute>> {
  if (request.method !== "GET" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return refuse("upgrade_required");
  }
  const query = new URL(request.url).searchParams;
  const environment = query.get("environment");
  const region = query.get("region");
  if (!environment) return refuse("not_configured", "environment");
  if (!region) return refuse("not_configured", "region");

  // A link in the URL is already exposed to every proxy and log on the way: refuse it loudly.
  if (query.has("accessLink")) return refuse("link_in_url", "accessLink");
  const userId = query.get("userId");
  const link = query.get("link");
  if ((userId === null) === (link === null)) return badQuery("userId|link", "must be exactly one: userId for a token session, or link (the access link's digest) for an access-link session");
  let key: SessionKey;
  if (userId !== null) {
    if (!isUserId(userId)) return badQuery("userId", "must be 1..128 of A-Z a-z 0-9 _ . @ + -");
    key = { kind: "token", userId };
  } else {
    if (!LINK_DIGEST_PATTERN.test(link ?? "")) return badQuery("link", "must be the SHA-256 of the canonical access link, 64 lower-case hex digits");
    key = { kind: "access_link", linkDigest: link! };
  }

  for (const name of new Set(query.keys())) {
    if (!QUERY_KEYS.includes(name)) return badQuery(name, `is not a query parameter of the socket (its parameters: ${QUERY_KEYS.join(", ")})`);
    if (query.getAll(name).length > 1) return badQuery(name, "must be given once");
  }

  // Only now the app: every refusal above is the same whether or not the app exists.
  const app = isAppId(appId) ? await lookupApp(appId) : null;
  if (app === null || app.environment !== environment || app.region !== region) return refuse("app_id_invalid");

  // Only browsers send Origin; a page from an origin the app did not list is refused.
  const origin = request.headers.get("Origin");
  if (app.allowedOrigins !== undefined && origin !== null && !app.allowedOrigins.includes(origin)) return refuse("origin_not_allowed");

  const { appId: _id, secrets: _secrets, vapidPublicKey: _vapid, createdAt: _c, updatedAt: _u, epoch, ...settings } = app;
  return ok({ appId, appEpoch: epoch, key, app: settings });
}

const DEFAULT_ATTACH_LIMIT_PER_MINUTE = 60;

function attachLimit(env: Env): number {
  const n = Number(env.ATTACH_LIMIT_PER_MINUTE);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_ATTACH_LIMIT_PER_MINUTE;
}

/** Attach attempts per client per minute in this isolate (core/attach-limit.ts: IPv6 by /64, bounded). */
const attaches = new AttachLimiter();

/**
 * Whether this client may attach now: the isolate's own count first (always there, also locally
 * and on a self-hosted workerd), then, where the deployment binds one (wrangler.toml), Cloudflare's
 * Rate Limiting binding, which counts across the isolates of a Cloudflare location. The binding
 * failing lets the attempt through: the isolate's count still holds (docs/security.md).
 */
async function attachAllowed(env: Env, address: string, now: number): Promise<boolean> {
  const key = attachKey(address);
  if (!attaches.allow(key, now, attachLimit(env))) return false;
  if (env.ATTACH_RATE_LIMIT === undefined) return true;
  try {
    return (await env.ATTACH_RATE_LIMIT.limit({ key })).success;
  } catch {
    return true;
  }
}

export const socket = new Hono<{ Bindings: Env }>();

// All methods, so a non-GET gets upgrade_required instead of not_found.
socket.all("/v1/apps/:appId/socket", async (c) => {
  // A plain 429, no socket: a refusal socket is one the server closes, and a flooding peer that
  // ignores the close would keep it and its connection (docs/security.md). Under the limit, the
  // refusals below go over a socket so that a browser can read them.
  if (!(await attachAllowed(c.env, c.req.header("CF-Connecting-IP") ?? "unknown", Date.now()))) {
    return errorResponse(kaleyraError("rate_limited"));
  }
  const lookupApp: AppLookup = (appId) => cachedApp(appId, (id) => apps(c.env).getApp(id));
  const route = await parseSocketRequest(c.req.raw, c.req.param("appId"), lookupApp);
  if (!route.ok) {
    if (route.error.code === "upgrade_required") return errorResponse(route.error, undefined, { Upgrade: "websocket" });
    return refuseUpgrade(route.error);
  }
  return forwardUpgrade(c.env, c.req.raw, route.value);
});
