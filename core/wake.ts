/**
 * Waking a closed app (issue 21, docs/push.md): when a trigger wakes a user, what the wake carries,
 * one wake per call per user, a rate limit per user, and the retry schedule of a delivery. Pure: the
 * caller passes the time and the random source; the memory is data the session stores.
 * Invariants:
 * - A wake names the app, the user, why, and the event's name (plus the call's id when the trigger
 *   has one, and a tenant's own short texts): never a Kaleyra event's data, a token or an access
 *   link. A tenant wake that looks like it carries a token or a link is refused.
 * - One wake per key per user while the key is remembered (WakeLimits.dedupSec); a duplicate costs
 *   no rate-limit token. The memory holds at most MAX_WAKE_KEYS keys (the oldest go first).
 * - A delivery is retried only after 429/5xx (or no answer), at most PUSH_RETRY_DELAYS_MS.length
 *   times, never past the wake's TTL; 404/410 removes the subscription; anything else gives up.
 */
import type { Random } from "./policy";
import { CALL_INCOMING_WEBHOOK, wakeChannels, type WakeLimits, type WakeSettings } from "./wake-settings";

export type WakeReason = "kaleyra_event" | "call_incoming" | "tenant";
export type PushUrgency = "very-low" | "low" | "normal" | "high";

export interface WakeEvent {
  name: string;
  /** The call the wake is about, when the trigger names one (Kaleyra's call or room id). */
  callId?: string;
  /** Tenant wakes only: the tenant's id for it, its texts and its small data. */
  id?: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
}

/** What every channel carries: the Web Push payload's core and the wake webhook's body. */
export interface WakePayload {
  appId: string;
  userId: string;
  reason: WakeReason;
  event: WakeEvent;
}

/** `POST .../users/:userId/wake`, checked by parseTenantWake (core/wake-tenant.ts). */
export interface TenantWake {
  event: string;
  /** The tenant's id (a chat message id, say): one wake per id per user. Absent: not deduplicated. */
  id?: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  ttlSec?: number;
  urgency?: Exclude<PushUrgency, "very-low">;
}

export type WakeTrigger =
  /** An event Kaleyra sent on the user's connection (the relay saw it). */
  | { kind: "kaleyra_event"; name: string; data: unknown }
  /** Kaleyra's v0 webhook `on_call_incoming`, for this user. */
  | { kind: "call_incoming"; roomId: string }
  | { kind: "tenant"; wake: TenantWake };

export interface WakeContext {
  appId: string;
  userId: string;
  settings: WakeSettings | undefined;
  /** Proven clients attached to the user's session right now. */
  provenClients: number;
  /** The user's token session runs (connecting, connected or waiting to reconnect). */
  sessionRunning: boolean;
}

export interface WakePlan {
  /** One wake per key per user; undefined: not deduplicated (a tenant wake without an id). */
  key?: string;
  payload: WakePayload;
  urgency: PushUrgency;
  ttlSec: number;
}

export type WakeSkip = "wake_off" | "event_not_listed" | "client_attached" | "no_session" | "duplicate" | "rate_limited";
export type WakeDecision = { wake: true; plan: WakePlan } | { wake: false; skip: WakeSkip };

/** A call rings for about a minute: a later push would wake the app for a call that is over. */
export const CALL_WAKE_TTL_SEC = 60;
const DEFAULT_TENANT_WAKE_TTL_SEC = 3_600;
export const MAX_WAKE_KEYS = 64;
const CALL_ID_FIELDS = ["callId", "call_id", "roomId", "room_id"] as const;
const CALL_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The call id in a Kaleyra event's data, when it has one under a known name. */
function callIdOf(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  for (const field of CALL_ID_FIELDS) {
    const v = (data as Record<string, unknown>)[field];
    if (typeof v === "string" && CALL_ID_PATTERN.test(v)) return v;
  }
  return undefined;
}

/**
 * Whether a trigger wakes the user, and with what. Calls wake only a running session with no proven
 * client attached and only for a listed event; a tenant wake needs no running session (a chat can
 * wake a disconnected user) but is skipped while a proven client is attached: the page is open.
 */
export function planWake(trigger: WakeTrigger, ctx: WakeContext): WakeDecision {
  const { webPush, webhook } = wakeChannels(ctx.settings);
  if (!ctx.settings || (!webPush && !webhook)) return { wake: false, skip: "wake_off" };
  const base = { appId: ctx.appId, userId: ctx.userId };
  if (trigger.kind === "tenant") {
    if (ctx.provenClients > 0) return { wake: false, skip: "client_attached" };
    const { event, id, title, body, data } = trigger.wake;
    const payload: WakePayload = { ...base, reason: "tenant", event: { name: event, ...(id !== undefined && { id }), ...(title !== undefined && { title }), ...(body !== undefined && { body }), ...(data !== undefined && { data }) } };
    return {
      wake: true,
      plan: {
        ...(id !== undefined && { key: `tenant:${id}` }),
        payload,
        urgency: trigger.wake.urgency ?? "normal",
        ttlSec: trigger.wake.ttlSec ?? DEFAULT_TENANT_WAKE_TTL_SEC,
      },
    };
  }
  const name = trigger.kind === "kaleyra_event" ? trigger.name : CALL_INCOMING_WEBHOOK;
  if (!ctx.settings.events.includes(name)) return { wake: false, skip: "event_not_listed" };
  if (!ctx.sessionRunning) return { wake: false, skip: "no_session" };
  if (ctx.provenClients > 0) return { wake: false, skip: "client_attached" };
  const callId = trigger.kind === "kaleyra_event" ? callIdOf(trigger.data) : trigger.roomId;
  // The same call seen as a relayed event and as the v0 webhook is one key, so one wake. An event
  // without a call id is keyed by its name: repeats within the dedup window wake once.
  const key = callId === undefined ? `event:${name}` : `call:${callId}`;
  const event: WakeEvent = { name, ...(callId !== undefined && { callId }) };
  return { wake: true, plan: { key, payload: { ...base, reason: trigger.kind, event }, urgency: "high", ttlSec: CALL_WAKE_TTL_SEC } };
}

/** What the session remembers between wakes: recent keys and the rate limit's bucket. */
export interface WakeMemory {
  seen: { key: string; until: number }[];
  /** Absent: full. */
  bucket?: { tokens: number; at: number };
}

export const EMPTY_WAKE_MEMORY: WakeMemory = { seen: [] };

export type Admission = { admitted: true; memory: WakeMemory } | { admitted: false; memory: WakeMemory; skip: "duplicate" | "rate_limited" };

/** Admits a planned wake at `now`, or says why not (a duplicate of a remembered key, or over the rate). */
export function admitWake(memory: WakeMemory, key: string | undefined, now: number, limits: WakeLimits): Admission {
  const seen = memory.seen.filter((s) => s.until > now);
  const refilled = memory.bucket === undefined ? limits.burst : memory.bucket.tokens + (now - memory.bucket.at) / (limits.refillSec * 1_000);
  const tokens = Math.min(limits.burst, refilled);
  const kept: WakeMemory = { seen, bucket: { tokens, at: now } };
  if (key !== undefined && seen.some((s) => s.key === key)) return { admitted: false, memory: kept, skip: "duplicate" };
  if (tokens < 1) return { admitted: false, memory: kept, skip: "rate_limited" };
  const added = key === undefined ? seen : [...seen, { key, until: now + limits.dedupSec * 1_000 }];
  return { admitted: true, memory: { seen: added.slice(-MAX_WAKE_KEYS), bucket: { tokens: tokens - 1, at: now } } };
}

/**
 * When the memory no longer says anything (every key forgotten, the bucket full again): from then on
 * it is the same as none, so the session may delete it (a user woken once leaves nothing for ever).
 */
export function wakeMemoryIdleAt(memory: WakeMemory, limits: WakeLimits): number {
  const keys = Math.max(0, ...memory.seen.map((s) => s.until));
  const bucket = memory.bucket;
  const full = bucket === undefined ? 0 : bucket.at + Math.ceil(Math.max(0, limits.burst - bucket.tokens) * limits.refillSec * 1_000);
  return Math.max(keys, full);
}

// ---- Delivery: the Web Push payload, the webhook body, retries ----

/** Well under what a push service must accept (4,096 bytes with the aes128gcm header and padding). */
export const MAX_PUSH_PAYLOAD_BYTES = 3_072;

/** What the service worker receives (client/push-sw.ts reads it). No token, no link, no Kaleyra data. */
export interface PushNotificationPayload extends WakePayload {
  v: 1;
  type: "kaleyra_wake";
  title: string;
  body: string;
  /** Same tag, one notification: a repeat replaces it instead of stacking. */
  tag: string;
  sentAt: number;
}

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

/** The Web Push payload of a wake, as JSON text of at most MAX_PUSH_PAYLOAD_BYTES bytes. */
export function pushNotificationPayload(wake: WakePayload, now: number): string {
  const call = wake.reason !== "tenant";
  const payload: PushNotificationPayload = {
    v: 1,
    type: "kaleyra_wake",
    ...wake,
    title: wake.event.title ?? (call ? "Incoming call" : "New activity"),
    body: wake.event.body ?? (call ? "Open the app to answer." : "Open the app to see it."),
    tag: `kaleyra-wake:${wake.event.callId ?? wake.event.id ?? wake.event.name}`,
    sentAt: now,
  };
  const text = JSON.stringify(payload);
  if (utf8Length(text) <= MAX_PUSH_PAYLOAD_BYTES) return text;
  // Only a tenant's data can be large enough (parseTenantWake bounds every field); it goes first.
  const { data: _dropped, ...event } = payload.event;
  return JSON.stringify({ ...payload, event });
}

/** The body of the signed wake webhook: exactly the wake, `{ appId, userId, reason, event }`. */
export function wakeWebhookBody(wake: WakePayload): string {
  return JSON.stringify({ appId: wake.appId, userId: wake.userId, reason: wake.reason, event: wake.event });
}

/** Waits after a failed attempt (1st, 2nd, 3rd), each plus up to PUSH_RETRY_JITTER_MS. */
const PUSH_RETRY_DELAYS_MS = [5_000, 20_000, 60_000] as const;
const PUSH_RETRY_JITTER_MS = 2_000;
/** A Retry-After longer than this is not waited for: the wake gives up. */
const MAX_RETRY_AFTER_SEC = 3_600;

/** How a delivery attempt ended (remote/push/web-push.ts and remote/push/wake-webhook.ts answer these). */
export type DeliveryOutcome =
  | { kind: "ok"; status: number }
  /** The push service forgot the subscription (404, 410): it will never work again. */
  | { kind: "gone"; status: number }
  /** 429, 5xx or no answer (status 0): worth another try, not before retryAfterSec when given. */
  | { kind: "retry"; status: number; retryAfterSec?: number }
  /** Anything else (4xx, a bad subscription, a URL not allowed): another try would fail the same way. */
  | { kind: "refused"; status: number; reason: string };

export type FollowUp = { action: "done" } | { action: "remove_subscription" } | { action: "retry"; at: number } | { action: "give_up" };

export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  now: number;
  /** The wake's send time plus its TTL: a delivery after it is pointless. */
  expiresAt: number;
  random: Random;
}

/** What the session does after a delivery attempt: the retry time goes on its one alarm. */
export function afterDelivery(outcome: DeliveryOutcome, ctx: AttemptContext): FollowUp {
  if (outcome.kind === "ok") return { action: "done" };
  if (outcome.kind === "gone") return { action: "remove_subscription" };
  if (outcome.kind === "refused") return { action: "give_up" };
  const delay = PUSH_RETRY_DELAYS_MS[ctx.attempt - 1];
  if (delay === undefined) return { action: "give_up" };
  const retryAfter = outcome.retryAfterSec;
  if (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER_SEC) return { action: "give_up" };
  const at = ctx.now + Math.max(delay + Math.floor(ctx.random() * PUSH_RETRY_JITTER_MS), (retryAfter ?? 0) * 1_000);
  return at < ctx.expiresAt ? { action: "retry", at } : { action: "give_up" };
}
