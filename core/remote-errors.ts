/**
 * What a refused realtime CONNECT means for a session, from the CONNECT_ERROR name Kaleyra sends
 * (names documented for the web SDK's connect; KALEYRA-FACTS.md):
 * - a bad or expired token, or a token for an unknown user: that token attempt failed (the token
 *   cycle goes on); `user_not_found` is said to clients under its own name;
 * - `sdk_version_invalid` / `sdk_version_unsupported`: the session ends (Android's
 *   `unsupported_version`), no retries;
 * - `invalid_access_link`: a link session ends;
 * - `app_id_invalid` and any name we do not know: "unavailable", the reconnect schedule runs.
 * Invariant: total (every string maps) and pure.
 */

export type ConnectRefusal =
  | { outcome: "token_failed"; error: "token_expired" | "token_invalid" | "user_not_found" }
  | { outcome: "session_ends"; reason: "unsupported_version" | "invalid_access_link" }
  | { outcome: "unavailable" };

const TOKEN_EXPIRED = new Set(["access_token_expired"]);
const TOKEN_INVALID = new Set(["access_token_invalid", "access_token_invalid_signature", "access_token_invalid_user"]);
const UNSUPPORTED_VERSION = new Set(["sdk_version_invalid", "sdk_version_unsupported"]);

export function connectRefusal(name: string): ConnectRefusal {
  if (TOKEN_EXPIRED.has(name)) return { outcome: "token_failed", error: "token_expired" };
  if (TOKEN_INVALID.has(name)) return { outcome: "token_failed", error: "token_invalid" };
  if (name === "user_not_found") return { outcome: "token_failed", error: "user_not_found" };
  if (UNSUPPORTED_VERSION.has(name)) return { outcome: "session_ends", reason: "unsupported_version" };
  if (name === "invalid_access_link") return { outcome: "session_ends", reason: "invalid_access_link" };
  return { outcome: "unavailable" };
}
