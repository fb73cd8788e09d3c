/**
 * Opens the outbound WebSocket in workerd: `fetch(https URL, { Upgrade: websocket })`, then
 * `response.webSocket.accept()`. The fetch is injected, so the local composition can pass the
 * emulator Durable Object stub's fetch. The handshake is bounded by an AbortSignal (no timer of
 * ours); a refusal or a timeout is an error value, never a throw.
 */
import { fetchUrlOf } from "./url";

export type SocketFetch = (request: Request) => Promise<Response>;

export const OPEN_TIMEOUT_MS = 10_000;

export type OpenSocketResult =
  | { ok: true; socket: WebSocket }
  | { ok: false; error: "timeout" | "refused" | "network"; status?: number; message: string };

export async function openRealtimeSocket(
  socketUrl: string,
  options: { fetch?: SocketFetch; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<OpenSocketResult> {
  const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? OPEN_TIMEOUT_MS);
  const doFetch: SocketFetch = options.fetch ?? ((request) => fetch(request));
  // The URL's query is not secret (api-version, EIO, transport); credentials travel in CONNECT.
  // The signal bounds the handshake only: given to the Request, it would also abort the WebSocket
  // the response carries when it fires (seen: close 1006 exactly OPEN_TIMEOUT_MS after connecting).
  const request = new Request(fetchUrlOf(socketUrl), { headers: { Upgrade: "websocket" } });
  let response: Response;
  try {
    response = await Promise.race([doFetch(request), aborted(signal)]);
  } catch (err) {
    if (signal.aborted) return { ok: false, error: "timeout", message: "the WebSocket handshake did not finish in time" };
    return { ok: false, error: "network", message: `the WebSocket handshake failed: ${String(err)}` };
  }
  const socket = response.webSocket;
  if (response.status !== 101 || socket === null) {
    await response.body?.cancel();
    return { ok: false, error: "refused", status: response.status, message: `the server answered ${response.status} instead of switching to WebSocket` };
  }
  socket.accept();
  return { ok: true, socket };
}

/** Rejects when the signal aborts: a stub's fetch may ignore the request's signal. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
