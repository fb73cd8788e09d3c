/**
 * Every error the service shows to a client or an admin: a stable code and a sentence that says
 * what to do. Codes never change meaning; new codes may be added.
 */
export const ERROR_MESSAGES = {
  // configuration and routing
  not_configured: "Configure the app (appId, environment, region) before connecting.",
  app_id_invalid: "The appId is unknown, or its environment or region does not match the app's registration.",
  // session rules
  session_conflict: "A session of the other kind is active on this connection; disconnect it first.",
  user_mismatch: "This socket belongs to another user or access link; open a socket for the one you connect.",
  wrong_endpoint: "This socket serves the other kind of session; open a socket for the kind you connect.",
  token_request_stale: "That token request is no longer pending, so the answer was ignored.",
  auth_required: "Prove who you are first: send an auth frame (resume credential, ticket or access token), or on an access-link socket the connect frame with the link.",
  auth_failed: "The proof was refused (expired, badly signed, or for another session, user or access link); prove again with one for this socket: an access token, ticket or resume credential of its user, or its own access link.",
  auth_pending: "Your access token is still proving who you are; wait for its answer before sending another proof.",
  auth_timeout: "The socket did not prove who it is in time; open a new socket and send the proof first.",
  unavailable: "Kaleyra could not be reached to check the proof; nothing was started. Retry in a few seconds.",
  link_in_url: "Access links are credentials and never travel in a URL: send link=<SHA-256 of the canonical link> and the link itself in the connect frame.",
  origin_not_allowed: "This page's origin is not in the app's allowed origins.",
  rate_limited: "Too many frames or attach attempts; slow down and retry later.",
  too_many_sockets: "This session has the most sockets it allows; close another tab or device first.",
  too_many_sessions: "The app has the most sessions it allows; disconnect a session first.",
  // Kaleyra's notices
  client_deprecated: "Kaleyra deprecated this client's version; update kaleyra-edge before the end-of-support date.",
  // frames
  frame_too_large: "The frame is larger than the limit; send a smaller frame.",
  malformed_json: "The frame is not valid JSON.",
  unknown_type: "The frame type is unknown; see docs/protocol.md for the frame types.",
  invalid_frame: "A field of the frame is missing or has the wrong type.",
  // relay (remote_ack errors)
  reserved_event: "That event name belongs to the session's own lifecycle with Kaleyra; clients cannot emit it (see docs/protocol.md, Relay).",
  not_connected: "The session is not connected to Kaleyra right now, so nothing was emitted; emit again once its state is connected.",
  remote_timeout: "Kaleyra did not acknowledge the emit within 10 s; it may or may not have been applied.",
  remote_refused: "Kaleyra answered the emit with an error (or an answer too large to relay); nothing to retry as is.",
  // Web Push (push_refused frames, docs/push.md)
  push_disabled: "The app does not send Web Push; the operator turns it on in the app's wake settings (wake.webPush).",
  push_unavailable: "Only a user's token session keeps push subscriptions; an access-link session is one call and wakes nobody.",
  push_unproven: "This socket has not proven who it is yet; the client sends the subscription again after its attach state.",
  push_invalid: "The push frame or its subscription is not valid (see the field); send what PushSubscription.toJSON() gives, to an https push service.",
  push_key_changed: "The browser subscribed with a VAPID key that is not the app's current one (it was rotated); read the key again (GET /v1/apps/:appId/push) and subscribe again.",
  // HTTP
  bad_request: "The request is invalid; /openapi.json describes every request.",
  unauthorized: "Send the admin token as 'Authorization: Bearer <token>'.",
  admin_disabled: "The admin API is off because no ADMIN_TOKEN secret is set.",
  not_found: "Nothing is at that path.",
  upgrade_required: "This route only accepts WebSocket upgrades.",
  signature_invalid: "The webhook signature is missing, malformed or does not match the app's API key.",
  webhook_replayed: "This webhook delivery was already accepted; it was not applied again.",
  signature_stale: "The webhook signature's timestamp is more than 5 minutes from now; send a fresh one.",
  internal_error: "The service failed to handle the request; retry, and report it if it keeps failing.",
  // tenant API
  tenant_unauthorized: "Send this app's tenant API key as 'Authorization: Bearer <key>'; the operator creates one with POST /v1/apps/:appId/tenant-keys.",
  tenant_key_unknown: "The app has no tenant key with that id; list its keys with GET /v1/apps/:appId/tenant-keys.",
  ticket_secret_missing: "The app has no attachTicketSecret, so no ticket can be signed; the operator sets one with PUT /v1/apps/:appId.",
  tickets_disabled: "The app does not accept attach tickets; the operator adds \"ticket\" to its attachModes with PUT /v1/apps/:appId.",
} as const;

export type ErrorCode = keyof typeof ERROR_MESSAGES;

/**
 * The HTTP status each code usually means (400 for the others); a refused upgrade's socket closes
 * with 4000 + it. A route passes another status only where the code is shared (413).
 */
export const ERROR_STATUS = {
  bad_request: 400,
  not_configured: 400,
  unauthorized: 401,
  origin_not_allowed: 403,
  rate_limited: 429,
  too_many_sockets: 429,
  too_many_sessions: 429,
  signature_invalid: 401,
  signature_stale: 401,
  webhook_replayed: 409,
  app_id_invalid: 404,
  not_found: 404,
  upgrade_required: 426,
  internal_error: 500,
  admin_disabled: 503,
  tenant_unauthorized: 401,
  tenant_key_unknown: 404,
  ticket_secret_missing: 409,
  tickets_disabled: 409,
} as const satisfies Partial<Record<ErrorCode, number>>;

export function statusOf(code: ErrorCode): number {
  return (ERROR_STATUS as Partial<Record<ErrorCode, number>>)[code] ?? 400;
}

/** One thing wrong with a request or a frame: the field, and what is wrong with it ("must be …"). */
export interface ErrorDetail {
  field: string;
  reason: string;
}

export interface KaleyraError {
  code: ErrorCode;
  message: string;
  /** Which field was wrong, when one was (the first of `details`). */
  field?: string;
  /** Every reason the input was refused, when the parser knows them. */
  details?: ErrorDetail[];
}

export function kaleyraError(code: ErrorCode, field?: string): KaleyraError {
  return field === undefined
    ? { code, message: ERROR_MESSAGES[code] }
    : { code, message: `${ERROR_MESSAGES[code]} (field: ${field})`, field };
}

/** The codes whose refusals say why, and how their message opens. */
const INVALID_INPUT = {
  bad_request: "The request is invalid",
  invalid_frame: "The frame is invalid",
  unknown_type: "The frame type is unknown",
} as const satisfies Partial<Record<ErrorCode, string>>;

/** How many reasons the message spells out; `details` holds them all. */
const REASONS_IN_MESSAGE = 3;

/**
 * A refusal that says what is wrong: "The request is invalid: region must be one of eu, in, us, me."
 * `field` is the first detail's, as in kaleyraError.
 */
export function invalidInput(code: keyof typeof INVALID_INPUT, details: readonly [ErrorDetail, ...ErrorDetail[]]): KaleyraError {
  const shown = details.slice(0, REASONS_IN_MESSAGE).map((d) => `${d.field} ${d.reason}`).join("; ");
  const more = details.length > REASONS_IN_MESSAGE ? `; and ${details.length - REASONS_IN_MESSAGE} more in details` : "";
  return { code, message: `${INVALID_INPUT[code]}: ${shown}${more}.`, field: details[0].field, details: [...details] };
}
