/**
 * The Web Push frames on a client's socket (issue 21, docs/push.md). A proven client of a token
 * session gives the session its browser's push subscription, or takes it back:
 *   client -> server  { type: "push_subscribe", subscription: <PushSubscription.toJSON()>,
 *                       applicationServerKey: <the app's VAPID public key it subscribed with> }
 *                     { type: "push_unsubscribe", endpoint }
 *   server -> client  { type: "push_subscribed", endpoint } (kept; also for a renewal)
 *                     { type: "push_unsubscribed", endpoint } (gone, or was not kept)
 *                     { type: "push_refused", endpoint?, code, message, field? } (not kept, and why)
 * Push frames are answered with push frames only, never an `error` frame, even on a socket that has
 * not proven itself yet (`push_refused` `push_unproven`, and nothing else happens): the client stops
 * on an error frame it cannot match while connecting, and a push subscription must never stop a
 * session's connect. A malformed push frame is `push_refused` `push_invalid`, naming the field.
 * `applicationServerKey` lets the session refuse a subscription made with a key the app no longer
 * signs with (it was rotated): a push service answers every push to it 403 (`push_key_changed`).
 * Invariant: like parseClientFrame, parsePushFrame returns a frame whose every field was checked, or
 * an error with a stable code; it never throws.
 */
import { ERROR_MESSAGES, kaleyraError, type ErrorCode } from "./errors";
import { fail, ok, type Result } from "./result";
import { MAX_ENDPOINT_LENGTH, parsePushSubscription, type PushEndpointPolicy, type PushSubscriptionJson } from "./push-subscription";

export type PushClientFrame = { type: "push_subscribe"; subscription: PushSubscriptionJson; applicationServerKey: string } | { type: "push_unsubscribe"; endpoint: string };

/** A VAPID public key as pages pass it: the 65-byte uncompressed P-256 point, unpadded base64url (87 characters). */
export const VAPID_PUBLIC_KEY_PATTERN = /^B[A-Za-z0-9_-]{86}$/;

/** The codes a push_refused frame carries (core/errors.ts words them). */
export type PushErrorCode = Extract<ErrorCode, "push_disabled" | "push_unavailable" | "push_unproven" | "push_invalid" | "push_key_changed">;

// Intersections, as core/protocol.ts's relay frames, so ServerFrame keeps matching loosely typed frames by shape.
export type PushServerFrame =
  | ({ type: "push_subscribed" } & { endpoint: string })
  | ({ type: "push_unsubscribed" } & { endpoint: string })
  | ({ type: "push_refused" } & { endpoint?: string; code: PushErrorCode; message: string; field?: string });

const PUSH_FRAME_TYPES = ["push_subscribe", "push_unsubscribe"] as const;

export function isPushFrameType(type: unknown): type is PushClientFrame["type"] {
  return (PUSH_FRAME_TYPES as readonly unknown[]).includes(type);
}

/**
 * The frame as a JSON object when it is a push frame (by its type), else undefined. The session asks
 * only about frames parseClientFrame called `unknown_type`, so ordinary frames are parsed once.
 */
export function readPushFrame(raw: string | ArrayBuffer): Record<string, unknown> | undefined {
  if (typeof raw !== "string") return undefined;
  try {
    const o: unknown = JSON.parse(raw);
    return typeof o === "object" && o !== null && !Array.isArray(o) && isPushFrameType((o as { type?: unknown }).type) ? (o as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const invalid = (field: string) => fail<PushClientFrame>(kaleyraError("invalid_frame", field));

/**
 * A push frame from a parsed JSON object whose `type` is one of PUSH_FRAME_TYPES (parseClientFrame
 * has already bounded its size and parsed it). `policy.allowLocal`: endpoints on loopback too.
 */
export function parsePushFrame(o: Record<string, unknown>, policy: PushEndpointPolicy = {}): Result<PushClientFrame> {
  const allowed = o.type === "push_subscribe" ? ["subscription", "applicationServerKey"] : o.type === "push_unsubscribe" ? ["endpoint"] : undefined;
  if (allowed === undefined) return invalid("type");
  const extra = Object.keys(o).find((k) => k !== "type" && !allowed.includes(k));
  if (extra !== undefined) return invalid(extra);
  if (o.type === "push_unsubscribe") {
    const endpoint = o.endpoint;
    // Any endpoint the client may have been given is named back as is; the session removes it if kept.
    return typeof endpoint === "string" && endpoint.length >= 1 && endpoint.length <= MAX_ENDPOINT_LENGTH ? ok({ type: "push_unsubscribe", endpoint }) : invalid("endpoint");
  }
  const subscription = parsePushSubscription(o.subscription, policy);
  if (!subscription.ok) return subscription;
  const key = o.applicationServerKey;
  if (typeof key !== "string" || !VAPID_PUBLIC_KEY_PATTERN.test(key)) return invalid("applicationServerKey");
  return ok({ type: "push_subscribe", subscription: subscription.value, applicationServerKey: key });
}

export function pushRefused(code: PushErrorCode, endpoint?: string, field?: string): PushServerFrame {
  return { type: "push_refused", ...(endpoint !== undefined && { endpoint }), code, message: ERROR_MESSAGES[code], ...(field !== undefined && { field }) };
}

/** The answer to a push frame parsePushFrame refused: push_refused naming the field (never an `error` frame). */
export function pushInvalid(o: Record<string, unknown>, field: string | undefined): PushServerFrame {
  const sub = o.subscription;
  const endpoint = typeof sub === "object" && sub !== null ? (sub as Record<string, unknown>).endpoint : o.endpoint;
  return pushRefused("push_invalid", typeof endpoint === "string" && endpoint.length <= MAX_ENDPOINT_LENGTH ? endpoint : undefined, field);
}
