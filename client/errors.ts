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
  | "token_refused";

const MESSAGES: Partial<Record<KaleyraErrorCode, string>> = {
  not_configured: "Call configure() with appId, environment and region before connect().",
  app_id_invalid: "Check the appId, and that environment and region match its registration.",
  session_conflict: "Another session is active or ending; disconnect it before connecting.",
  bad_request: "Pass a userId (letters, digits and _.@+-) with a token provider, or an https access link.",
  user_inactive: "The user is inactive in Kaleyra; activate the user, then connect again.",
  invalid_access_link: "The access link is invalid or expired; get a new one.",
  call_ended: "The call of this access link has ended; get a new link to join another call.",
  expired_credentials: "The credentials expired; connect again with a provider that returns fresh tokens.",
  unsupported_version: "This client version is not supported; update it.",
  disconnected: "The session was disconnected before it connected; call connect() to start a new one.",
  disconnect_unconfirmed: "The server did not confirm the disconnect; call disconnect() again when online.",
  connection_refused: "The server refused the connection; check the server URL and the configuration.",
};

export class KaleyraError extends Error {
  override readonly name = "KaleyraError";

  constructor(
    readonly code: KaleyraErrorCode,
    message?: string,
    /** Which field was wrong, when one was. */
    readonly field?: string,
  ) {
    super(message ?? MESSAGES[code] ?? "The session ended unexpectedly; connect again.");
  }
}
