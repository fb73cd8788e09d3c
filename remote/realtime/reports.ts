/** What a realtime connection tells its owner, and how its requests end. */
export type LostReason =
  | "socket_closed"
  | "server_close"
  | "server_disconnect"
  | "protocol_error"
  | "ping_timeout"
  | "handshake_timeout"
  | "closed_by_owner";

export type RealtimeReport =
  | { type: "connected"; user: unknown; company: unknown; socketId: string }
  | { type: "refused"; name: string }
  | { type: "lost"; reason: LostReason; detail?: string }
  | { type: "token_about_to_expire"; expiresAt?: string }
  | { type: "token_expired" }
  /** Already acknowledged; final (the connection is closed, no "lost" follows). */
  | { type: "force_disconnect"; reason?: unknown }
  | { type: "client_deprecated"; deprecationDate?: string; endOfSupportDate?: string }
  /** Any other server event, for the relay; `ackId` when the server asked for an ack. */
  | { type: "server_event"; name: string; args: unknown[]; ackId?: number };

export type TokenUpdateResult =
  | { ok: true }
  | { ok: false; reason: "refused"; error: string }
  | { ok: false; reason: "timeout" | "lost" | "not_connected" };

/** The server's ack arguments, or why none came. */
export type AckResult = { ok: true; args: unknown[] } | { ok: false; reason: "timeout" | "lost" | "not_connected" };

export type ConnectionState = "opening" | "connecting" | "connected" | "closed";
