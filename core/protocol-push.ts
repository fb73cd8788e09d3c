/**
 * The Web Push frames on a client's socket (issue 21; to be joined to core/protocol.ts's ClientFrame
 * and ServerFrame when the session handles them). A proven client of a token session gives the
 * session its browser's push subscription, or takes it back:
 *   client -> server  { type: "push_subscribe", subscription: <PushSubscription.toJSON()> }
 *                     { type: "push_unsubscribe", endpoint }
 *   server -> client  { type: "push_subscribed", endpoint } (kept; also for a renewal)
 *                     { type: "push_unsubscribed", endpoint } (gone, or was not kept)
 *                     { type: "push_refused", endpoint?, code, message, field? } (not kept, and why)
 * Push frames are answered with push frames only, never an `error` frame, even on a socket that has
 * not proven itself yet (`push_refused` `push_unproven`, and nothing else happens): the client stops
 * on an error frame it cannot match while connecting, and a push subscription must never stop a
 * session's connect. A malformed push frame is `push_refused` `push_invalid`, naming the field.
 * Invariant: like parseClientFrame, parsePushFrame returns a frame whose every field was checked, or
 * an error with a stable code; it never throws.
 */
import { kaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";
import { MAX_ENDPOINT_LENGTH, parsePushSubscription, type PushEndpointPolicy, type PushSubscriptionJson } from "./push-subscription";

export type PushClientFrame = { type: "push_subscribe"; subscription: PushSubscriptionJson } | { type: "push_unsubscribe"; endpoint: string };

export const PUSH_ERROR_MESSAGES = {
  push_disabled: "The app does not send Web Push; the operator turns it on in the app's wake settings.",
  push_unavailable: "Only a user's token session keeps push subscriptions; an access-link session is one call and wakes nobody.",
  push_unproven: "This socket has not proven who it is yet; the client sends the subscription again after its attach state.",
  push_invalid: "The push frame or its subscription is not valid (see the field); send what PushSubscription.toJSON() gives, to an https push service.",
} as const;
export type PushErrorCode = keyof typeof PUSH_ERROR_MESSAGES;

export type PushServerFrame =
  | { type: "push_subscribed"; endpoint: string }
  | { type: "push_unsubscribed"; endpoint: string }
  | { type: "push_refused"; endpoint?: string; code: PushErrorCode; message: string; field?: string };

export const PUSH_FRAME_TYPES = ["push_subscribe", "push_unsubscribe"] as const;

export function isPushFrameType(type: unknown): type is PushClientFrame["type"] {
  return (PUSH_FRAME_TYPES as readonly unknown[]).includes(type);
}

const invalid = (field: string) => fail<PushClientFrame>(kaleyraError("invalid_frame", field));

/**
 * A push frame from a parsed JSON object whose `type` is one of PUSH_FRAME_TYPES (parseClientFrame
 * has already bounded its size and parsed it). `policy.allowLocal`: endpoints on loopback too.
 */
export function parsePushFrame(o: Record<string, unknown>, policy: PushEndpointPolicy = {}): Result<PushClientFrame> {
  const allowed = o.type === "push_subscribe" ? "subscription" : o.type === "push_unsubscribe" ? "endpoint" : undefined;
  if (allowed === undefined) return invalid("type");
  const extra = Object.keys(o).find((k) => k !== "type" && k !== allowed);
  if (extra !== undefined) return invalid(extra);
  if (o.type === "push_unsubscribe") {
    const endpoint = o.endpoint;
    // Any endpoint the client may have been given is named back as is; the session removes it if kept.
    return typeof endpoint === "string" && endpoint.length >= 1 && endpoint.length <= MAX_ENDPOINT_LENGTH ? ok({ type: "push_unsubscribe", endpoint }) : invalid("endpoint");
  }
  const subscription = parsePushSubscription(o.subscription, policy);
  return subscription.ok ? ok({ type: "push_subscribe", subscription: subscription.value }) : subscription;
}

export function pushRefused(code: PushErrorCode, endpoint?: string, field?: string): PushServerFrame {
  return { type: "push_refused", ...(endpoint !== undefined && { endpoint }), code, message: PUSH_ERROR_MESSAGES[code], ...(field !== undefined && { field }) };
}

/** The answer to a push frame parsePushFrame refused: push_refused naming the field (never an `error` frame). */
export function pushInvalid(o: Record<string, unknown>, field: string | undefined): PushServerFrame {
  const sub = o.subscription;
  const endpoint = typeof sub === "object" && sub !== null ? (sub as Record<string, unknown>).endpoint : o.endpoint;
  return pushRefused("push_invalid", typeof endpoint === "string" && endpoint.length <= MAX_ENDPOINT_LENGTH ? endpoint : undefined, field);
}
