/**
 * A wake's deliveries as the session keeps them (issue 21, docs/push.md): which channels a wake goes
 * to, and each delivery's attempts, leases and retries as data the session stores, so its one alarm
 * runs them and an eviction at any instant loses none. Pure: time and randomness are passed in.
 * Invariants:
 * - A wake goes to every kept subscription made with the app's current VAPID key (one made with an
 *   earlier key is dropped: its push service would answer 403 forever) and to the tenant's webhook.
 *   A wake with nowhere to go is skipped before it is admitted (it costs no rate-limit token).
 * - A delivery in flight holds a lease (DELIVERY_LEASE_MS, longer than the sender's timeout): an
 *   object evicted mid-send tries it again when the lease ends, so a wake is delivered at least once.
 * - At most MAX_WAKE_JOBS deliveries wait; the oldest go first. None outlives its wake's TTL.
 */
import type { StoredPushSubscription } from "./push-subscription";
import { admitWake, afterDelivery, planWake, type DeliveryOutcome, type PushUrgency, type WakeContext, type WakeMemory, type WakePayload, type WakeSkip, type WakeTrigger } from "./wake";
import { wakeLimits } from "./wake-settings";
import type { Random } from "./policy";

export const DELIVERY_LEASE_MS = 15_000;
export const MAX_WAKE_JOBS = 64;

export interface WakeJob {
  id: string;
  channel: "web_push" | "webhook";
  /** web_push: the subscription's endpoint (a capability: never logged). */
  endpoint?: string;
  payload: WakePayload;
  /** The wake's dedup key, from which the push's Topic is derived. */
  key?: string;
  urgency: PushUrgency;
  ttlSec: number;
  /** Past it a delivery is pointless: the wake's time plus its TTL. */
  expiresAt: number;
  /** Attempts started. */
  attempt: number;
  /** The next attempt; while one is in flight, the end of its lease. */
  dueAt: number;
}

/** The last wake, for the clients that attach after it (the `woken` frame, docs/protocol.md). */
export interface LastWake {
  at: number;
  reason: WakePayload["reason"];
  event: { name: string; callId?: string };
}

export interface WakeTargets {
  subscriptions: readonly StoredPushSubscription[];
  /** The app's VAPID public key now (undefined: no pair, so no push). */
  vapidPublicKey?: string;
}

export type WakeOutcome =
  | { woken: false; skip: WakeSkip | "no_channel"; memory?: WakeMemory; stale?: string[] }
  | { woken: true; memory: WakeMemory; jobs: WakeJob[]; stale: string[]; last: LastWake };

/**
 * Whether the trigger wakes the user, and the deliveries if so. `memory` in a skip is what the
 * session stores (absent: nothing changed, nothing is written); `stale`, the endpoints of
 * subscriptions made with an earlier VAPID key, which the session drops either way.
 */
export function wakeUser(trigger: WakeTrigger, ctx: WakeContext, targets: WakeTargets, memory: WakeMemory, now: number, newId: () => string): WakeOutcome {
  const decision = planWake(trigger, ctx);
  if (!decision.wake) return { woken: false, skip: decision.skip };
  const { plan } = decision;
  const current = (s: StoredPushSubscription) => targets.vapidPublicKey !== undefined && s.applicationServerKey === targets.vapidPublicKey;
  const pushTo = ctx.settings?.webPush?.enabled === true ? targets.subscriptions.filter(current) : [];
  const webhook = ctx.settings?.webhookUrl !== undefined;
  const stale = targets.subscriptions.filter((s) => !current(s)).map((s) => s.endpoint);
  const dropped = stale.length > 0 ? { stale } : {};
  if (pushTo.length === 0 && !webhook) return { woken: false, skip: "no_channel", ...dropped };
  const admission = admitWake(memory, plan.key, now, wakeLimits(ctx.settings));
  if (!admission.admitted) return { woken: false, skip: admission.skip, memory: admission.memory, ...dropped };
  const base = { payload: plan.payload, urgency: plan.urgency, ttlSec: plan.ttlSec, expiresAt: now + plan.ttlSec * 1_000, attempt: 0, dueAt: now, ...(plan.key !== undefined && { key: plan.key }) };
  const jobs: WakeJob[] = [
    ...pushTo.map((s): WakeJob => ({ id: newId(), channel: "web_push", endpoint: s.endpoint, ...base })),
    ...(webhook ? [{ id: newId(), channel: "webhook" as const, ...base }] : []),
  ];
  const { name, callId } = plan.payload.event;
  return { woken: true, memory: admission.memory, jobs, stale, last: { at: now, reason: plan.payload.reason, event: { name, ...(callId !== undefined && { callId }) } } };
}

/** New deliveries join the queue; past MAX_WAKE_JOBS the oldest go. */
export function queueJobs(queue: readonly WakeJob[], jobs: readonly WakeJob[]): WakeJob[] {
  return [...queue, ...jobs].slice(-MAX_WAKE_JOBS);
}

/** The deliveries due at `now`, each leased (its attempt counted); expired ones are dropped. */
export function takeDueJobs(queue: readonly WakeJob[], now: number): { due: WakeJob[]; queue: WakeJob[] } {
  const due: WakeJob[] = [];
  const kept: WakeJob[] = [];
  for (const job of queue) {
    if (job.expiresAt <= now) continue;
    if (job.dueAt > now) {
      kept.push(job);
      continue;
    }
    const leased = { ...job, attempt: job.attempt + 1, dueAt: now + DELIVERY_LEASE_MS };
    due.push(leased);
    kept.push(leased);
  }
  return { due, queue: kept };
}

/**
 * The queue after one attempt's outcome: a retry stays with its new time, anything else leaves.
 * `removeEndpoint`: the push service forgot the subscription (404/410), so the session drops it.
 */
export function settleJob(queue: readonly WakeJob[], job: WakeJob, outcome: DeliveryOutcome, now: number, random: Random): { queue: WakeJob[]; removeEndpoint?: string } {
  const follow = afterDelivery(outcome, { attempt: job.attempt, now, expiresAt: job.expiresAt, random });
  const others = queue.filter((j) => j.id !== job.id);
  if (follow.action === "retry") return { queue: queue.some((j) => j.id === job.id) ? [...others, { ...job, dueAt: follow.at }] : others };
  if (follow.action === "remove_subscription" && job.endpoint !== undefined) return { queue: others, removeEndpoint: job.endpoint };
  return { queue: others };
}

/** The earliest delivery due, for the session's one alarm. */
export function nextJobDue(queue: readonly WakeJob[]): number | undefined {
  return queue.length === 0 ? undefined : Math.min(...queue.map((j) => j.dueAt));
}
