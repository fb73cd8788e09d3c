/**
 * A browser cannot read the body of a refused upgrade, so a refusal is a socket that carries one
 * `error` frame and closes with 4000 + the HTTP status the code means (4400, 4403, 4404, 4429).
 */
import { kaleyraError, statusOf, type ErrorCode, type KaleyraError } from "../core/errors";

export function refuseUpgrade(error: KaleyraError | ErrorCode): Response {
  const e = typeof error === "string" ? kaleyraError(error) : error;
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.send(JSON.stringify({ type: "error", ...e }));
  server.close(4000 + statusOf(e.code), e.code);
  return new Response(null, { status: 101, webSocket: client });
}

/**
 * Sends one error frame and closes only this socket: for limits a socket broke. `closedAt` (session
 * time) starts the socket's close deadline (core/closing-sockets.ts).
 */
export function closeWithError(ws: WebSocket, code: ErrorCode, closeCode = 4000 + statusOf(code), closedAt?: number): void {
  try {
    if (closedAt !== undefined) ws.serializeAttachment({ ...(ws.deserializeAttachment() as object), closedAt });
    ws.send(JSON.stringify({ type: "error", ...kaleyraError(code) }));
    ws.close(closeCode, code);
  } catch {
    // Already closing.
  }
}

/**
 * A plain HTTP refusal, no socket: for a session that already holds too many closed sockets whose
 * peer does not answer. A refusal socket would be one more of them (docs/security.md).
 */
export function refuseWithoutSocket(code: ErrorCode): Response {
  return Response.json({ error: kaleyraError(code) }, { status: statusOf(code) });
}
