/**
 * The client's errors: a stable code and a sentence that says what to do. Errors the server sends
 * keep the server's code and sentence (core/errors.ts); the client words only the codes it raises
 * itself, so the table of server sentences stays out of the bundle.
 */
import type { ErrorCode } from "../core/errors";
import type { DisconnectError, DisconnectReason } from "../core/session";

export type KaleyraErrorCode =
  | ErrorCode
  /** The session ended for good while connecting: the state's `error`, else its `reason`. */
  | DisconnectError
  | Exclude<DisconnectReason, "requested">
  /** disconnect() was called (here or in another client of the user) before the session connected. */
  | "disconnected"
  /** disconnect() could not reach the server in time. */
  | "disconnect_unconfirmed"
  /** The server closed the socket with a 4xxx code and no error frame. */
  | "connection_refused"
  /** From the Android bridge: the app gave no token in time, or refused. */
  | "token_timeout"
  | "token_refused"
  /** From the relay (client/relay.ts, docs/client.md "Relay"): the server's remote_ack error codes (RELAY.md) ... */
  | "reserved_event"
  | "not_connected"
  | "remote_timeout"
  | "remote_refused"
  | "invalid_frame"
  /** ... and the client's own: the socket went away before the ack, so the emit may or may not have reached Kaleyra. */
  | "emit_unconfirmed"
  /** The runtime has no WebSocket (Node before 22, say) and none was passed in the options. */
  | "websocket_unavailable"
  /** From client/push.ts (docs/push.md): no service worker or Push API here; the session did not confirm in time. */
  | "push_unsupported"
  | "push_unconfirmed";

const MESSAGES: Partial<Record<KaleyraErrorCode, string>> = {
  not_configured: "Call configure() before connect().",
  app_id_invalid: "Check the appId, environment and region.",
  session_conflict: "Another session is active; disconnect it first.",
  bad_request: "Pass a userId and a token provider, or an https access link.",
  user_inactive: "The user is inactive; activate it, then connect.",
  invalid_access_link: "The access link is invalid; get a new one.",
  call_ended: "The call ended; get a new link.",
  expired_credentials: "The credentials expired; connect again.",
  unsupported_version: "Update this client.",
  disconnected: "Disconnected before connecting; call connect() again.",
  disconnect_unconfirmed: "Disconnect not confirmed; call disconnect() again when online.",
  connection_refused: "Connection refused; check the URL and configuration.",
  websocket_unavailable: "No WebSocket in this runtime: use Node 22 or later, or pass options.WebSocket.",
};

export class KaleyraError extends Error {
  override readonly name = "KaleyraError";
  // Declared and assigned, not parameter properties: those would emit class fields into the bundle too.
  declare readonly code: KaleyraErrorCode;
  /** Which field was wrong, when one was. */
  declare readonly field?: string;

  constructor(code: KaleyraErrorCode, message?: string, field?: string) {
    super(message ?? MESSAGES[code] ?? "The session ended; connect again.");
    this.code = code;
    this.field = field;
  }
}
