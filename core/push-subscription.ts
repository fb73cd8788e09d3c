/**
 * A browser's Web Push subscription (PushSubscription.toJSON()) as a session keeps it, and the rules
 * for the list of them a user's session holds (issue 21, docs/push.md).
 * Invariants:
 * - A kept subscription has an endpoint the service may call (core/webhook-url.ts's outbound rule:
 *   https to a public host; http(s) on loopback only where the deployment allows local addresses),
 *   a p256dh that is a 65-byte uncompressed P-256 point (0x04 || x || y) and a 16-byte auth secret,
 *   both base64url (RFC 8291 section 3.2). Whether the point is on the curve is Web Crypto's to say
 *   (remote/push/web-push.ts), not this pure module's.
 * - The endpoint's path is a capability (whoever knows it can push to the browser): it is never
 *   logged; `endpointOrigin` is what a log or a timeline may show.
 * - A user holds at most `max` subscriptions; the same endpoint again replaces its keys; over the
 *   bound the oldest goes. Subscriptions whose expirationTime passed are dropped.
 */
import { kaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";
import { isWebhookUrl } from "./webhook-url";

export const MAX_ENDPOINT_LENGTH = 2_048;
const P256DH_BYTES = 65;
const AUTH_SECRET_BYTES = 16;
/** The default bound per user: a few browsers and devices, not a fleet. */
export const DEFAULT_MAX_SUBSCRIPTIONS = 10;

/** The JSON a browser gives (`subscription.toJSON()`), checked. `expirationTime` in ms since the epoch. */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

/** A kept subscription: the browser's JSON plus when the session took it. */
export interface StoredPushSubscription extends PushSubscriptionJson {
  addedAt: number;
  /** The app's VAPID public key the browser subscribed with: after a rotation the subscription is never pushed to. */
  applicationServerKey?: string;
}

export interface PushEndpointPolicy {
  /** The local composition's ALLOW_LOCAL_WEBHOOKS: an endpoint on loopback (the local push service). */
  allowLocal?: boolean;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Unpadded base64url to bytes (a trailing `=` padding is tolerated); undefined when it is not. */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  const s = text.replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of s) {
    value = (value << 6) | BASE64URL_ALPHABET.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = value >> bits;
      value &= (1 << bits) - 1;
    }
  }
  // Leftover bits must be zero, so one byte string has one spelling.
  return value === 0 ? out : undefined;
}

/** The endpoint's origin: what a log, a timeline or an error may show of it. */
export function endpointOrigin(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return "(invalid endpoint)";
  }
}

/** True for an endpoint the service may POST pushes to. */
export function isPushEndpoint(v: unknown, policy: PushEndpointPolicy = {}): v is string {
  if (typeof v !== "string" || v.length > MAX_ENDPOINT_LENGTH || !isWebhookUrl(v, policy.allowLocal === true)) return false;
  // A fragment is never part of a push resource (RFC 8030 section 5): refused, not silently dropped.
  return new URL(v).hash === "";
}

const bad = (field: string) => fail<PushSubscriptionJson>(kaleyraError("invalid_frame", field));

/** Checks a browser's subscription JSON; `field` in the error names what is wrong. Unknown keys are refused. */
export function parsePushSubscription(input: unknown, policy: PushEndpointPolicy = {}): Result<PushSubscriptionJson> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return bad("subscription");
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => k !== "endpoint" && k !== "expirationTime" && k !== "keys");
  if (extra !== undefined) return bad(`subscription.${extra}`);
  if (!isPushEndpoint(o.endpoint, policy)) return bad("subscription.endpoint");
  const expirationTime = o.expirationTime ?? null;
  if (expirationTime !== null && !(typeof expirationTime === "number" && Number.isSafeInteger(expirationTime) && expirationTime > 0)) {
    return bad("subscription.expirationTime");
  }
  const keys = o.keys;
  if (typeof keys !== "object" || keys === null || Array.isArray(keys)) return bad("subscription.keys");
  const k = keys as Record<string, unknown>;
  const extraKey = Object.keys(k).find((name) => name !== "p256dh" && name !== "auth");
  if (extraKey !== undefined) return bad(`subscription.keys.${extraKey}`);
  const p256dh = typeof k.p256dh === "string" ? decodeBase64Url(k.p256dh) : undefined;
  if (p256dh?.length !== P256DH_BYTES || p256dh[0] !== 0x04) return bad("subscription.keys.p256dh");
  const auth = typeof k.auth === "string" ? decodeBase64Url(k.auth) : undefined;
  if (auth?.length !== AUTH_SECRET_BYTES) return bad("subscription.keys.auth");
  return ok({
    endpoint: o.endpoint,
    expirationTime,
    // Kept without padding: one spelling per key.
    keys: { p256dh: (k.p256dh as string).replace(/=+$/, ""), auth: (k.auth as string).replace(/=+$/, "") },
  });
}

export interface SubscriptionsChange {
  subscriptions: StoredPushSubscription[];
  /** Subscriptions that went: over the bound (oldest first) or expired. */
  evicted: StoredPushSubscription[];
}

/** Drops the subscriptions whose expirationTime is at or before `now`. */
export function pruneExpiredSubscriptions(list: readonly StoredPushSubscription[], now: number): SubscriptionsChange {
  const alive = (s: StoredPushSubscription) => s.expirationTime === null || s.expirationTime > now;
  return { subscriptions: list.filter(alive), evicted: list.filter((s) => !alive(s)) };
}

/**
 * Adds (or renews, same endpoint) a subscription taken at `now`, keeping at most `max`: the oldest
 * added go first. A renewed subscription counts as new, since the browser just confirmed it.
 */
export function addSubscription(list: readonly StoredPushSubscription[], sub: PushSubscriptionJson & { applicationServerKey?: string }, now: number, max = DEFAULT_MAX_SUBSCRIPTIONS): SubscriptionsChange {
  const pruned = pruneExpiredSubscriptions(list, now);
  const others = pruned.subscriptions.filter((s) => s.endpoint !== sub.endpoint);
  const all = [...others, { ...sub, addedAt: now }].sort((a, b) => a.addedAt - b.addedAt);
  const over = Math.max(0, all.length - max);
  return { subscriptions: all.slice(over), evicted: [...pruned.evicted, ...all.slice(0, over)] };
}

/** Removes the subscription with this endpoint (the browser unsubscribed, or the push service said 404/410). */
export function removeSubscription(list: readonly StoredPushSubscription[], endpoint: string): SubscriptionsChange {
  return { subscriptions: list.filter((s) => s.endpoint !== endpoint), evicted: list.filter((s) => s.endpoint === endpoint) };
}
