/**
 * Where the realtime connection goes: `wss://cs[.sandbox].{region}.bandyer.com/sdk/socket/` with
 * `api-version=2.1.0&EIO=4&transport=websocket` [web], or an app's override base URL.
 * Invariants: only wss/https leave the machine; ws/http are accepted for loopback hosts only, and
 * only when the caller passes allowLocal (the local composition). An override never carries
 * credentials, a query or a fragment.
 */
import { REGIONS as REALTIME_REGIONS, type Region as RealtimeRegion } from "../../core/app";
import { isKaleyraBaseUrl } from "../../core/webhook-url";

export { REALTIME_REGIONS, type RealtimeRegion };

export const SOCKET_PATH = "/sdk/socket/";
export const SOCKET_QUERY = "api-version=2.1.0&EIO=4&transport=websocket";

export interface RealtimeUrlRequest {
  environment: "production" | "sandbox";
  region: RealtimeRegion;
  /** The app's `kaleyra.realtimeUrl`: a base such as `wss://cs.eu.bandyer.com` or `http://127.0.0.1:8787/emulator`. */
  baseUrl?: string;
  /** Accept ws:// and http:// for loopback hosts (never in a deployment). */
  allowLocal?: boolean;
}

export type RealtimeUrlResult = { ok: true; url: string } | { ok: false; error: "bad_realtime_url"; message: string };

function defaultRealtimeBase(environment: "production" | "sandbox", region: RealtimeRegion): string {
  return environment === "sandbox" ? `wss://cs.sandbox.${region}.bandyer.com` : `wss://cs.${region}.bandyer.com`;
}

/**
 * The full wss:// (or, locally, ws://) URL of the Socket.IO endpoint. The base passes the same
 * rule as an app's saved `kaleyra.realtimeUrl` (core/webhook-url.ts isKaleyraBaseUrl), checked
 * again here before every connection.
 */
export function realtimeUrl(request: RealtimeUrlRequest): RealtimeUrlResult {
  if (!(REALTIME_REGIONS as readonly string[]).includes(request.region)) return bad(`region must be one of ${REALTIME_REGIONS.join(", ")}`);
  const base = request.baseUrl ?? defaultRealtimeBase(request.environment, request.region);
  if (!isKaleyraBaseUrl(base, ["wss:", "https:"], request.allowLocal === true)) {
    return bad("the realtime URL must be wss:// or https:// to a public host, without credentials, query or fragment (ws:// and http:// only to loopback, locally)");
  }
  const url = new URL(base);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  const path = url.pathname.replace(/\/+$/, "");
  return { ok: true, url: `${url.protocol}//${url.host}${path}${SOCKET_PATH}?${SOCKET_QUERY}` };
}

/** The http(s) form of a ws(s) URL: workerd opens outbound WebSockets with fetch + Upgrade. */
export function fetchUrlOf(socketUrl: string): string {
  return socketUrl.replace(/^ws(s?):/, "http$1:");
}

function bad(message: string): RealtimeUrlResult {
  return { ok: false, error: "bad_realtime_url", message };
}
