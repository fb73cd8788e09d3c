/**
 * The wire protocol: the one definition of every frame, used by the Durable Object, the client and
 * the tests. Plain guards, no schema library, so the client stays small.
 * Invariant: parseClientFrame either returns a frame whose every field was checked, or an error
 * with a stable code; it never throws.
 */
import { canonicalAccessLink } from "./access-link";
import { invalidInput, kaleyraError, type ErrorCode, type ErrorDetail, type KaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";
import type { PushServerFrame } from "./protocol-push";
import type { SessionView } from "./session";
import type { LastWake } from "./wake-delivery";

export const MAX_FRAME_BYTES = 16_384;
export const MAX_TOKEN_LENGTH = 8_192;
const MAX_ACCESS_LINK_LENGTH = 2_048;
export const MAX_REQUEST_ID_LENGTH = 64;
/** Kaleyra user ids: letters, digits and `_ . @ + -`, at most 128 characters. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_.@+-]{1,128}$/;

/**
 * How a client proves it may attach to a token session (the app's settings say which it accepts):
 * a token for that user the remote accepts, the resume credential the session issued, or a
 * tenant-signed attach ticket. An access link is its own proof, for its own call only.
 */
export type AttachMode = "token" | "resume" | "ticket";
export const ATTACH_MODES: readonly AttachMode[] = ["token", "resume", "ticket"];
const MAX_CREDENTIAL_LENGTH = 2_048;

const MAX_EVENT_NAME_LENGTH = 128;

/** `since`: the last relayed seq this client saw; after the proof it gets what it missed (Relay). */
export type ClientFrame =
  | { type: "auth"; resume: string; since?: number }
  | { type: "auth"; ticket: string; since?: number }
  /** A Kaleyra access token for the socket's user: proves it, and connects the session if none runs. */
  | { type: "auth"; token: string; since?: number }
  /**
   * The socket proves its user with a token and asks to be asked for it (`token_request`): with no
   * session running that is token attempt 1 of the connect, so the session times it like any other.
   */
  | { type: "auth"; askToken: true; since?: number }
  | { type: "connect"; userId: string }
  | { type: "connect"; accessLink: string }
  | { type: "token"; requestId: string; token: string }
  | { type: "token_failed"; requestId: string; reason?: string }
  | { type: "disconnect"; clearSavedData: boolean }
  /** Emit `name` with `data` on the user's Kaleyra connection, acked; answered by `remote_ack`. */
  | { type: "remote_emit"; id: string; name: string; data?: unknown };

/** What an unproven socket may prove itself with: the app's modes, or the link on a link route. */
export type AttachProof = AttachMode | "access_link";

/** The codes a `remote_ack` can carry (docs/protocol.md, Relay). */
export type RelayErrorCode = Extract<ErrorCode, "reserved_event" | "not_connected" | "remote_timeout" | "remote_refused" | "invalid_frame">;

export type ServerFrame =
  /** The first frame of every socket: it must prove who it is before it learns anything. */
  | { type: "auth_required"; modes: AttachProof[] }
  /** A short-lived credential to re-attach to this session (after a reload) without a token. */
  | { type: "resume"; credential: string; expiresAt: number }
  /** `proof`: the view of the socket's own proof (it is not a client yet, docs/protocol.md). */
  | { type: "state"; state: SessionView; proof?: true }
  | { type: "token_request"; requestId: string; userId: string; attempt: number; expiresAt?: number }
  | { type: "error"; code: ErrorCode; message: string; requestId?: string; field?: string; details?: ErrorDetail[] }
  | { type: "data_cleared" }
  /** Kaleyra said something clients should show (`client_deprecated`: update before endOfSupportDate). */
  | { type: "warning"; code: "client_deprecated"; message: string; deprecationDate?: string; endOfSupportDate?: string }
  // The relay's frames (docs/protocol.md "Relay") are written as intersections on purpose: with 10
  // or more plain object members TypeScript matches an object literal against ServerFrame by `type`
  // alone, which breaks loosely typed frames in tests (e.g. `{ type: "error", code: someString }`).
  /** A Kaleyra event on the user's connection (not a lifecycle one); seq +1 per relayed event. */
  | ({ type: "remote_event" } & { seq: number; name: string; data: unknown })
  /** The answer to this client's `remote_emit`: Kaleyra's ack data, or why there is none. */
  | ({ type: "remote_ack" } & { id: string; data: unknown })
  | ({ type: "remote_ack" } & { id: string; error: { code: RelayErrorCode; message: string } })
  /** On a re-attach with `since`: events after `after` may have been missed. */
  | ({ type: "remote_gap" } & { after: number })
  /** The answers to push frames (core/protocol-push.ts, docs/push.md). */
  | PushServerFrame
  /** Right after a proof: the session woke this user's app (docs/push.md) within the last 10 minutes. */
  | ({ type: "woken" } & LastWake);

export function isUserId(v: unknown): v is string {
  return typeof v === "string" && USER_ID_PATTERN.test(v);
}

/** Access links are https URLs (Kaleyra's look like https://sandbox.bandyer.com/eu/direct-rest-call-handler/<code>). */
export function isAccessLink(v: unknown): v is string {
  return typeof v === "string" && v.length <= MAX_ACCESS_LINK_LENGTH && canonicalAccessLink(v) !== undefined;
}

function isRequestId(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_REQUEST_ID_LENGTH;
}

function isToken(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_TOKEN_LENGTH && !/\s/.test(v);
}

const AUTH_FIELDS = ["resume", "ticket", "token", "askToken"] as const;

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isEventName(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_EVENT_NAME_LENGTH;
}

const invalid = (field: string, reason: string) => fail<ClientFrame>(invalidInput("invalid_frame", [{ field, reason }]));

const FRAME_TYPES = ["auth", "connect", "token", "token_failed", "disconnect", "remote_emit"];

/** The refusal of the first key besides `type` that is not in `allowed`; undefined when none is. */
function extraKey(o: Record<string, unknown>, allowed: readonly string[]) {
  const extra = Object.keys(o).find((k) => k !== "type" && !allowed.includes(k));
  return extra === undefined ? undefined : invalid(extra, `is not a field of the ${String(o.type)} frame (its fields: ${["type", ...allowed].join(", ")})`);
}

// Built by a pure call so that the client, which takes only this module's guards, does not carry it.
const REASON = /* @__PURE__ */ (() => ({
  token: `must be 1..${MAX_TOKEN_LENGTH} characters without whitespace`,
  credential: `must be a string of 1..${MAX_CREDENTIAL_LENGTH} characters`,
  requestId: `must be a string of 1..${MAX_REQUEST_ID_LENGTH} characters`,
  userId: "must be 1..128 of A-Z a-z 0-9 _ . @ + -",
}))();

export function parseClientFrame(raw: string | ArrayBuffer): Result<ClientFrame> {
  // Binary frames are not part of the protocol, but the same size limit closes an oversized one.
  if (typeof raw !== "string") return raw.byteLength > MAX_FRAME_BYTES ? fail(kaleyraError("frame_too_large")) : invalid("binary", "frames are not part of the protocol: send JSON text frames");
  // Length in UTF-16 units bounds the UTF-8 size by 3x; checking bytes exactly costs an encode.
  if (raw.length > MAX_FRAME_BYTES || new TextEncoder().encode(raw).length > MAX_FRAME_BYTES) {
    return fail(kaleyraError("frame_too_large"));
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return fail(kaleyraError("malformed_json"));
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return invalid("frame", "must be a JSON object");
  const o = data as Record<string, unknown>;
  if (typeof o.type !== "string") return invalid("type", `must be one of ${FRAME_TYPES.join(", ")}`);
  switch (o.type) {
    case "auth": {
      const extra = extraKey(o, [...AUTH_FIELDS, "since"]);
      if (extra !== undefined) return extra;
      const fields = AUTH_FIELDS.filter((k) => k in o);
      if (fields.length !== 1) return invalid(AUTH_FIELDS.join("|"), "must be exactly one: the proof is a resume credential, a ticket, a token, or askToken");
      if ("since" in o && !isSeq(o.since)) return invalid("since", "must be an integer >= 0 (the last relayed seq this client saw)");
      const since = isSeq(o.since) ? { since: o.since } : {};
      const field = fields[0]!;
      const value = o[field];
      if (field === "token") return isToken(value) ? ok({ type: "auth", token: value, ...since }) : invalid(field, REASON.token);
      if (field === "askToken") return value === true ? ok({ type: "auth", askToken: true, ...since }) : invalid(field, "must be true: the session then asks this socket for its token");
      if (typeof value !== "string" || value.length < 1 || value.length > MAX_CREDENTIAL_LENGTH) return invalid(field, REASON.credential);
      return ok(field === "resume" ? { type: "auth", resume: value, ...since } : { type: "auth", ticket: value, ...since });
    }
    case "connect": {
      const extra = extraKey(o, ["userId", "accessLink"]);
      if (extra !== undefined) return extra;
      if ("userId" in o === "accessLink" in o) return invalid("userId|accessLink", "must be exactly one: a userId for a token session or an accessLink");
      if ("userId" in o) return isUserId(o.userId) ? ok({ type: "connect", userId: o.userId }) : invalid("userId", REASON.userId);
      return isAccessLink(o.accessLink) ? ok({ type: "connect", accessLink: o.accessLink }) : invalid("accessLink", `must be a Kaleyra access link: an https URL of at most ${MAX_ACCESS_LINK_LENGTH} characters`);
    }
    case "token": {
      const extra = extraKey(o, ["requestId", "token"]);
      if (extra !== undefined) return extra;
      if (!isRequestId(o.requestId)) return invalid("requestId", REASON.requestId);
      if (!isToken(o.token)) return invalid("token", REASON.token);
      return ok({ type: "token", requestId: o.requestId, token: o.token });
    }
    case "token_failed": {
      const extra = extraKey(o, ["requestId", "reason"]);
      if (extra !== undefined) return extra;
      if (!isRequestId(o.requestId)) return invalid("requestId", REASON.requestId);
      if (o.reason !== undefined && (typeof o.reason !== "string" || o.reason.length > 256)) return invalid("reason", "must be a string of at most 256 characters");
      return ok(o.reason === undefined
        ? { type: "token_failed", requestId: o.requestId }
        : { type: "token_failed", requestId: o.requestId, reason: o.reason });
    }
    case "disconnect": {
      const extra = extraKey(o, ["clearSavedData"]);
      if (extra !== undefined) return extra;
      if (o.clearSavedData !== undefined && typeof o.clearSavedData !== "boolean") return invalid("clearSavedData", "must be true or false");
      return ok({ type: "disconnect", clearSavedData: o.clearSavedData === true });
    }
    case "remote_emit": {
      const extra = extraKey(o, ["id", "name", "data"]);
      if (extra !== undefined) return extra;
      if (!isRequestId(o.id)) return invalid("id", REASON.requestId);
      if (!isEventName(o.name)) return invalid("name", `must be a string of 1..${MAX_EVENT_NAME_LENGTH} characters`);
      return ok("data" in o ? { type: "remote_emit", id: o.id, name: o.name, data: o.data } : { type: "remote_emit", id: o.id, name: o.name });
    }
    default:
      return fail(invalidInput("unknown_type", [{ field: "type", reason: `must be one of ${FRAME_TYPES.join(", ")}` }]));
  }
}

/** An error frame for a code (with the field it names), or for a refusal that says why (parseClientFrame's). */
export function errorFrame(code: ErrorCode | KaleyraError, extra: { requestId?: string; field?: string } = {}): ServerFrame {
  const e = typeof code === "string" ? kaleyraError(code, extra.field) : code;
  const frame: ServerFrame = { type: "error", code: e.code, message: e.message };
  if (extra.requestId !== undefined) frame.requestId = extra.requestId;
  if (e.field !== undefined) frame.field = e.field;
  if (e.details !== undefined) frame.details = e.details;
  return frame;
}

export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
