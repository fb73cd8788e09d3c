/**
 * The WebSocket upgrade route: validates the client's configuration against the registry and
 * forwards the upgrade to the user's session object. Checks run in a fixed order (upgrade,
 * configured, app, session key, query keys) so a client always sees the first thing to fix.
 * Unknown apps and mismatching environment/region give the same answer, so the route does not
 * reveal which apps exist. The query may carry an access link (a bearer secret): never log the URL.
 */
import { Hono } from "hono";
import { isAppId } from "../core/app";
import { kaleyraError, type ErrorCode, type KaleyraError } from "../core/errors";
import { isAccessLink, isUserId } from "../core/protocol";
import { fail, ok, type Result } from "../core/result";
import type { AppRecord } from "../durable-objects/AppRegistry";
import { SESSION_ROUTE_HEADER, sessionObjectName, type SessionKey, type SessionRoute } from "../durable-objects/session-route";
import type { Env } from "./env";
import { errorResponse, statusOf } from "./errors";
import { appRegistry } from "./registry";

export type AppLookup = (appId: string) => Promise<AppRecord | null>;

const QUERY_KEYS: readonly string[] = ["environment", "region", "userId", "accessLink"];

const refuse = (code: ErrorCode, field?: string) => fail<SessionRoute>(kaleyraError(code, field));

export async function parseSocketRequest(request: Request, appId: string, lookupApp: AppLookup): Promise<Result<SessionRoute>> {
  if (request.method !== "GET" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return refuse("upgrade_required");
  }
  const query = new URL(request.url).searchParams;
  const environment = query.get("environment");
  const region = query.get("region");
  if (!environment) return refuse("not_configured", "environment");
  if (!region) return refuse("not_configured", "region");

  const app = isAppId(appId) ? await lookupApp(appId) : null;
  if (app === null || app.environment !== environment || app.region !== region) return refuse("app_id_invalid");

  const userId = query.get("userId");
  const accessLink = query.get("accessLink");
  if ((userId === null) === (accessLink === null)) return refuse("bad_request", "userId|accessLink");
  let key: SessionKey;
  if (userId !== null) {
    if (!isUserId(userId)) return refuse("bad_request", "userId");
    key = { kind: "token", userId };
  } else {
    if (!isAccessLink(accessLink)) return refuse("bad_request", "accessLink");
    key = { kind: "access_link", accessLink };
  }

  for (const name of new Set(query.keys())) {
    if (!QUERY_KEYS.includes(name) || query.getAll(name).length > 1) return refuse("bad_request", name);
  }

  const settings: SessionRoute["app"] = { environment: app.environment, region: app.region };
  if (app.retryPolicy !== undefined) settings.retryPolicy = app.retryPolicy;
  if (app.serverTokens !== undefined) settings.serverTokens = app.serverTokens;
  return ok({ appId, key, app: settings });
}

/**
 * A browser cannot read the body of a refused upgrade, so a refusal is a socket that carries one
 * `error` frame and closes with 4000 + the HTTP status the code means (4400, 4404).
 */
export function refuseUpgrade(error: KaleyraError): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.send(JSON.stringify({ type: "error", ...error }));
  server.close(4000 + statusOf(error.code), error.code);
  return new Response(null, { status: 101, webSocket: client });
}

/** The upgrade as the session object receives it; a route header sent by the client is replaced. */
export function forwardedRequest(request: Request, route: SessionRoute): Request {
  const headers = new Headers(request.headers);
  headers.set(SESSION_ROUTE_HEADER, JSON.stringify(route));
  return new Request(request, { headers });
}

export const socket = new Hono<{ Bindings: Env }>();

// All methods, so a non-GET gets upgrade_required instead of not_found.
socket.all("/v1/apps/:appId/socket", async (c) => {
  const lookupApp: AppLookup = async (appId) => (await appRegistry(c.env)).getApp(appId);
  const route = await parseSocketRequest(c.req.raw, c.req.param("appId"), lookupApp);
  if (!route.ok) {
    if (route.error.code === "upgrade_required") return errorResponse(route.error, undefined, { Upgrade: "websocket" });
    return refuseUpgrade(route.error);
  }
  const name = await sessionObjectName(route.value.appId, route.value.key);
  const session = c.env.USER_SESSION.get(c.env.USER_SESSION.idFromName(name));
  return session.fetch(forwardedRequest(c.req.raw, route.value));
});
