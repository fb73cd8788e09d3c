/**
 * Sends one Web Push message (RFC 8030) to one subscription, from a Worker: the payload encrypted
 * `aes128gcm` (RFC 8291/8188) by @block65/webcrypto-web-push's encryptNotification (Web Crypto only,
 * padded to a constant 4,096-byte body so its length tells nothing), VAPID by crypto/vapid.ts, and the
 * TTL, Urgency and Topic headers. docs/push.md says why this library and why our own VAPID header.
 * Invariants:
 * - Answers a DeliveryOutcome (core/wake.ts) and never throws: ok (2xx), gone (404, 410), retry
 *   (429, 5xx with Retry-After, or no answer), refused (anything else, including a redirect, which
 *   is never followed, and an endpoint the outbound rule does not allow).
 * - The endpoint is checked again before every send (core/push-subscription.ts, the outbound URL
 *   rule); its path is a capability, so no outcome or reason names more than its origin; the keys
 *   and the payload appear in no reason.
 */
import { encryptNotification } from "@block65/webcrypto-web-push";
import { endpointOrigin, isPushEndpoint, type PushSubscriptionJson } from "../../core/push-subscription";
import { MAX_PUSH_PAYLOAD_BYTES, type DeliveryOutcome, type PushUrgency } from "../../core/wake";
import { base64UrlEncode } from "../../crypto/jwt";
import { vapidAuthorization, type VapidKeys } from "../../crypto/vapid";

const DEFAULT_PUSH_TIMEOUT_MS = 10_000;
/** RFC 8030 5.4: a topic is at most 32 characters of the URL-safe base64 alphabet. */
const TOPIC_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export interface WebPushRequest {
  subscription: PushSubscriptionJson;
  /** UTF-8 text (core/wake.ts pushNotificationPayload), at most MAX_PUSH_PAYLOAD_BYTES bytes. */
  payload: string;
  vapid: VapidKeys;
  /** The VAPID `sub`: the app's wake.webPush.contact. */
  contact: string;
  ttlSec: number;
  urgency: PushUrgency;
  /** Collapses a repeat still waiting at the push service (pushTopic(key)). */
  topic?: string;
  /** The local composition's ALLOW_LOCAL_WEBHOOKS: the local push service on loopback. */
  allowLocal?: boolean;
  timeoutMs?: number;
}

export interface WebPushDeps {
  fetch: (request: Request) => Promise<Response>;
  nowSec: () => number;
}

/** A Topic for a wake key: 32 base64url characters of its SHA-256, so the push service learns no call id. */
export async function pushTopic(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return base64UrlEncode(digest.slice(0, 24));
}

const refused = (status: number, reason: string): DeliveryOutcome => ({ kind: "refused", status, reason });

export async function sendWebPush(req: WebPushRequest, deps: WebPushDeps): Promise<DeliveryOutcome> {
  const { subscription } = req;
  const origin = endpointOrigin(subscription.endpoint);
  if (!isPushEndpoint(subscription.endpoint, { allowLocal: req.allowLocal === true })) return refused(0, `push endpoint ${origin} is not allowed`);
  if (req.topic !== undefined && !TOPIC_PATTERN.test(req.topic)) return refused(0, "topic is not 1..32 base64url characters");
  if (!Number.isInteger(req.ttlSec) || req.ttlSec < 0) return refused(0, "ttl must be a non-negative integer");
  const plaintext = new TextEncoder().encode(req.payload);
  if (plaintext.length > MAX_PUSH_PAYLOAD_BYTES) return refused(0, `payload is over ${MAX_PUSH_PAYLOAD_BYTES} bytes`);
  let body: Uint8Array;
  try {
    body = await encryptNotification(subscription, plaintext);
  } catch {
    return refused(0, "the subscription's keys are not usable");
  }
  const authorization = await vapidAuthorization(req.vapid, { audience: origin, subject: req.contact, nowSec: Math.floor(deps.nowSec()) });
  if (authorization === undefined) return refused(0, "the app's VAPID keys are not usable");
  const headers: Record<string, string> = {
    authorization,
    ttl: String(req.ttlSec),
    urgency: req.urgency,
    "content-encoding": "aes128gcm",
    "content-type": "application/octet-stream",
    ...(req.topic !== undefined && { topic: req.topic }),
  };
  let response: Response;
  try {
    response = await deps.fetch(
      new Request(subscription.endpoint, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(req.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS) }),
    );
  } catch {
    return { kind: "retry", status: 0 };
  }
  // The answer's body tells nothing we act on; it is not read.
  await response.body?.cancel().catch(() => undefined);
  return outcomeOf(response, Math.floor(deps.nowSec()), origin);
}

/** RFC 8030 answers, as what the session does next. */
export function outcomeOf(response: Response, nowSec: number, origin = "the push service"): DeliveryOutcome {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: "ok", status };
  if (status === 404 || status === 410) return { kind: "gone", status };
  if (status === 429 || status >= 500) {
    const retryAfterSec = parseRetryAfter(response.headers.get("retry-after"), nowSec);
    return retryAfterSec === undefined ? { kind: "retry", status } : { kind: "retry", status, retryAfterSec };
  }
  if (status >= 300 && status < 400) return refused(status, `${origin} redirected (${status}); redirects are not followed`);
  return refused(status, `${origin} answered ${status}`);
}

/** Retry-After as seconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowSec: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil(at / 1_000 - nowSec));
}
