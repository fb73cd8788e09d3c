/**
 * What the Worker tells a UserSession when it forwards a WebSocket upgrade: which app, which
 * session, and the app's settings at that moment. The Worker has already validated all of it.
 */
import type { AppSettings } from "../core/app";

export const SESSION_ROUTE_HEADER = "x-kaleyra-session-route";

export type SessionKey = { kind: "token"; userId: string } | { kind: "access_link"; accessLink: string };

export interface SessionRoute {
  appId: string;
  key: SessionKey;
  app: AppSettings;
}

/** The Durable Object name of a session: one per (appId, userId) or per (appId, access link). */
export async function sessionObjectName(appId: string, key: SessionKey): Promise<string> {
  if (key.kind === "token") return `token:${appId}:${key.userId}`;
  // Hashed so the bearer link itself never becomes an object name that tooling may print.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key.accessLink));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `link:${appId}:${hex}`;
}
