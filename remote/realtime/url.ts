/**
 * Where the realtime connection goes: `wss://cs[.sandbox].{region}.bandyer.com/sdk/socket/` with
 * `api-version=2.1.0&EIO=4&transport=websocket` [web], or an app's override base URL.
 * Invariants: only wss/https leave the machine; ws/http are accepted for loopback hosts only, and
 * only when the caller passes allowLocal (the local composition). An override never carries
 * credentials, a query or a fragment.
 */
export const REALTIME_REGIONS = ["eu", "in", "us", "me"] as const;
export type RealtimeRegion = (typeof REALTIME_REGIONS)[number];

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

export function defaultRealtimeBase(environment: "production" | "sandbox", region: RealtimeRegion): string {
  return environment === "sandbox" ? `wss://cs.sandbox.${region}.bandyer.com` : `wss://cs.${region}.bandyer.com`;
}

/** The full wss:// (or, locally, ws://) URL of the Socket.IO endpoint. */
export function realtimeUrl(request: RealtimeUrlRequest): RealtimeUrlResult {
  if (!(REALTIME_REGIONS as readonly string[]).includes(request.region)) return bad(`region must be one of ${REALTIME_REGIONS.join(", ")}`);
  const base = request.baseUrl ?? defaultRealtimeBase(request.environment, request.region);
  if (base.length > 2_048) return bad("the realtime URL is too long");
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return bad("the realtime URL is not a URL");
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    return bad("the realtime URL must not carry credentials, a query or a fragment");
  }
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "ws:") {
    if (!request.allowLocal || !isLoopbackHost(url.hostname)) return bad("ws:// and http:// realtime URLs are allowed only for loopback hosts in the local composition");
  } else if (url.protocol !== "wss:") {
    return bad("the realtime URL must be wss:// or https://");
  }
  const path = url.pathname.replace(/\/+$/, "");
  return { ok: true, url: `${url.protocol}//${url.host}${path}${SOCKET_PATH}?${SOCKET_QUERY}` };
}

/** localhost, 127.0.0.0/8 and [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The http(s) form of a ws(s) URL: workerd opens outbound WebSockets with fetch + Upgrade. */
export function fetchUrlOf(socketUrl: string): string {
  return socketUrl.replace(/^ws(s?):/, "http$1:");
}

function bad(message: string): RealtimeUrlResult {
  return { ok: false, error: "bad_realtime_url", message };
}
