/**
 * What the Worker tells a UserSession when it forwards a WebSocket upgrade: which app, which
 * session, and the app's settings at that moment. The Worker has already validated all of it.
 */
import type { AppSettings } from "../core/app";

export const SESSION_ROUTE_HEADER = "x-kaleyra-session-route";

/** A link session is named by the digest of its canonical link (core/access-link.ts), never the link. */
export type SessionKey = { kind: "token"; userId: string } | { kind: "access_link"; linkDigest: string };

export interface SessionRoute {
  appId: string;
  /** The app registration's epoch (new at every registration): binds resume credentials to it. */
  appEpoch: string;
  key: SessionKey;
  app: AppSettings;
}

/** The Durable Object name of a session: one per (appId, userId) or per (appId, access link). */
export function sessionObjectName(appId: string, key: SessionKey): string {
  return key.kind === "token" ? `token:${appId}:${key.userId}` : `link:${appId}:${key.linkDigest}`;
}

/** The upgrade as the session object receives it; a route header sent by the client is replaced. */
export function forwardedRequest(request: Request, route: SessionRoute): Request {
  const headers = new Headers(request.headers);
  headers.set(SESSION_ROUTE_HEADER, JSON.stringify(route));
  return new Request(request, { headers });
}

/** The route header as the Worker wrote it (forwardedRequest); anything else is no route. */
export function parseRoute(header: string | null): SessionRoute | undefined {
  if (header === null) return undefined;
  try {
    const route = JSON.parse(header) as SessionRoute;
    return typeof route.appId === "string" && typeof route.appEpoch === "string" && typeof route.key === "object" && typeof route.app === "object" ? route : undefined;
  } catch {
    return undefined;
  }
}
