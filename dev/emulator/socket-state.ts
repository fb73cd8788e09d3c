/**
 * One emulator socket's state, kept in its hibernatable attachment, and the writes that must not
 * throw on a socket that closed meanwhile. Every attachment write merges into the latest
 * attachment, since messages interleave across the awaits of token checks.
 */
export interface SocketState {
  eioSid: string;
  state: "awaiting_connect" | "held" | "connected";
  pingIntervalMs: number;
  pingTimeoutMs: number;
  nextPingAt: number;
  lastPingAt: number | null;
  lastPongAt: number | null;
  appId?: string;
  userId?: string;
  kind?: "token" | "access_link";
  roomId?: string | null;
  expiresAt?: number | null;
  sioSid?: string;
  /** The `socket-id` its CONNECT named (a reconnect's previous connection), or null. */
  previousSocketId?: string | null;
  nextAckId: number;
  /** The ack id of a user:force_disconnect sent; the socket is closed when it is acknowledged. */
  forceAckId?: number;
  /** `switchboard:access_token:expired` was sent for the current token. */
  expiredSent?: boolean;
}

export function stateOf(ws: WebSocket): SocketState | undefined {
  return (ws.deserializeAttachment() as SocketState | null) ?? undefined;
}

/** Merges into the latest attachment and returns it. */
export function update(ws: WebSocket, patch: Partial<SocketState>): SocketState | undefined {
  const current = stateOf(ws);
  if (!current) return undefined;
  const next = { ...current, ...patch };
  ws.serializeAttachment(next);
  return next;
}

export function send(ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

export function close(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
