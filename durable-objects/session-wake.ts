/**
 * The session's wakes (issue 21, docs/push.md): the user's push subscriptions, the wake memory (one
 * wake per call, the rate limit, the last wake), and the deliveries with their retries on the one
 * alarm. Glue around core/wake.ts and core/wake-delivery.ts, which hold the rules; the sending is
 * the composition's (core/wake-port.ts).
 * Invariants:
 * - Storage is the truth (keys below): deliveries are written, leased, before they are sent, so an
 *   eviction mid-send retries them at the lease's end; clearSavedData's deleteAll takes all of it.
 * - Only a proven client of a token session subscribes; push frames are answered with push frames
 *   only (core/protocol-push.ts). An endpoint is checked with the deployment's outbound rule when
 *   kept and again before every send (remote/push/web-push.ts).
 * - An answer that arrives after a clear writes nothing: its delivery is no longer in the queue.
 * - The wake memory is deleted once it says nothing any more (core's wakeMemoryIdleAt, and the
 *   last wake older than LAST_WAKE_SHOWN_MS), on the alarm: a user woken once leaves no storage for
 *   ever beside the subscriptions the user gave.
 */
import { holdsSessionSlot, type SessionState } from "../core/session";
import { parsePushFrame, pushInvalid, pushRefused, readPushFrame, type PushServerFrame } from "../core/protocol-push";
import { addSubscription, removeSubscription, type StoredPushSubscription } from "../core/push-subscription";
import { EMPTY_WAKE_MEMORY, pushNotificationPayload, wakeMemoryIdleAt, type DeliveryOutcome, type WakeMemory, type WakeTrigger } from "../core/wake";
import { nextJobDue, queueJobs, settleJob, takeDueJobs, wakeUser, type LastWake, type WakeJob, type WakeOutcome } from "../core/wake-delivery";
import { wakeLimits } from "../core/wake-settings";
import type { WakeSender } from "../core/wake-port";
import type { SessionApp } from "./session-app";
import type { SessionRoute } from "./session-route";
import { send, type Attachment } from "./sockets";

const SUBSCRIPTIONS_KEY = "wake.subscriptions";
const MEMORY_KEY = "wake.memory";
const JOBS_KEY = "wake.jobs";
const LAST_KEY = "wake.last";
/** When the wake memory and the last wake may be deleted (session time). */
const IDLE_KEY = "wake.idleAt";
/** A client that attaches this long after a wake is told about it (the `woken` frame). */
const LAST_WAKE_SHOWN_MS = 600_000;

/** Narrow interface the wakes use to reach the session object. */
export interface SessionWakeHost {
  kv: SyncKvStorage;
  now(): number;
  state(): SessionState;
  route(): SessionRoute | undefined;
  /** The proven clients' sockets. */
  clients(): WebSocket[];
  app: Pick<SessionApp, "secrets" | "record">;
  sender: WakeSender;
  /** ALLOW_LOCAL_WEBHOOKS: push endpoints and the wake webhook may be on loopback (the local composition). */
  allowLocal: boolean;
  armAlarm(): Promise<void>;
}

/** What a wake request is answered (the tenant API's WakeResult). */
export type WakeResult = { woken: false; skip: Extract<WakeOutcome, { woken: false }>["skip"] } | { woken: true; webPush: number; webhook: boolean };

export class SessionWake {
  constructor(private readonly host: SessionWakeHost) {}

  /** A frame parseClientFrame did not know: handled (and answered) here when it is a push frame. */
  async onPushFrame(ws: WebSocket, raw: string | ArrayBuffer, a: Attachment): Promise<boolean> {
    const o = readPushFrame(raw);
    if (o === undefined) return false;
    const endpointOf = () => pushInvalid(o, undefined).endpoint;
    if (!a.proven) return answer(ws, pushRefused("push_unproven", endpointOf()));
    if (a.route.key.kind !== "token") return answer(ws, pushRefused("push_unavailable", endpointOf()));
    const parsed = parsePushFrame(o, { allowLocal: this.host.allowLocal });
    if (!parsed.ok) return answer(ws, pushInvalid(o, parsed.error.field));
    const frame = parsed.value;
    if (frame.type === "push_unsubscribe") {
      const change = removeSubscription(this.subscriptions(), frame.endpoint);
      if (change.evicted.length > 0) this.host.kv.put(SUBSCRIPTIONS_KEY, change.subscriptions);
      return answer(ws, { type: "push_unsubscribed", endpoint: frame.endpoint });
    }
    const { endpoint } = frame.subscription;
    const [record, secrets] = await Promise.all([this.host.app.record(a.route.appId), this.host.app.secrets(a.route.appId)]);
    if (record?.wake?.webPush?.enabled !== true) return answer(ws, pushRefused("push_disabled", endpoint));
    if (secrets?.vapidKeys?.publicKey !== frame.applicationServerKey) return answer(ws, pushRefused("push_key_changed", endpoint, "applicationServerKey"));
    const max = wakeLimits(record.wake).subscriptionsPerUser;
    const change = addSubscription(this.subscriptions(), { ...frame.subscription, applicationServerKey: frame.applicationServerKey }, this.host.now(), max);
    this.host.kv.put(SUBSCRIPTIONS_KEY, change.subscriptions);
    return answer(ws, { type: "push_subscribed", endpoint });
  }

  /**
   * A trigger for this user (a relayed event, the v0 webhook, the tenant API): wakes the user when
   * core says so; the deliveries start now and continue on the alarm.
   */
  async trigger(appId: string, userId: string, trigger: WakeTrigger): Promise<WakeResult> {
    const route = this.host.route();
    // This object is (appId, userId)'s by its name; a caller naming another user wakes nobody.
    if (route !== undefined && (route.appId !== appId || route.key.kind !== "token" || route.key.userId !== userId)) return { woken: false, skip: "no_session" };
    const [record, secrets] = await Promise.all([this.host.app.record(appId), this.host.app.secrets(appId)]);
    const state = this.host.state();
    const ctx = { appId, userId, settings: record?.wake, provenClients: this.host.clients().length, sessionRunning: holdsSessionSlot(state) && state.mode === "token" };
    const targets = { subscriptions: this.subscriptions(), ...(secrets?.vapidKeys && { vapidPublicKey: secrets.vapidKeys.publicKey }) };
    const kv = this.host.kv;
    const outcome = wakeUser(trigger, ctx, targets, kv.get<WakeMemory>(MEMORY_KEY) ?? EMPTY_WAKE_MEMORY, this.host.now(), () => crypto.randomUUID());
    // Made with an earlier VAPID key (rotated): their push service would answer 403 forever.
    if (outcome.stale !== undefined && outcome.stale.length > 0) kv.put(SUBSCRIPTIONS_KEY, this.subscriptions().filter((s) => !outcome.stale!.includes(s.endpoint)));
    const remember = (memory: WakeMemory) => {
      kv.put(MEMORY_KEY, memory);
      const last = kv.get<LastWake>(LAST_KEY);
      kv.put(IDLE_KEY, Math.max(wakeMemoryIdleAt(memory, wakeLimits(record?.wake)), last === undefined ? 0 : last.at + LAST_WAKE_SHOWN_MS));
    };
    if (!outcome.woken) {
      if (outcome.memory) remember(outcome.memory);
      return { woken: false, skip: outcome.skip };
    }
    kv.put(LAST_KEY, outcome.last);
    remember(outcome.memory);
    kv.put(JOBS_KEY, queueJobs(this.jobs(), outcome.jobs));
    console.log("wake", { appId, reason: outcome.last.reason, event: outcome.last.event.name, deliveries: outcome.jobs.length });
    void this.runDue();
    return { woken: true, webPush: outcome.jobs.filter((j) => j.channel === "web_push").length, webhook: outcome.jobs.some((j) => j.channel === "webhook") };
  }

  /** A Kaleyra event relayed on the user's connection: it may wake the user (its name in wake.events). */
  onKaleyraEvent(name: string, data: unknown): void {
    const route = this.host.route();
    // A proven client hears the event itself; without one, the app's wake settings decide.
    if (route?.key.kind !== "token" || this.host.clients().length > 0) return;
    void this.trigger(route.appId, route.key.userId, { kind: "kaleyra_event", name, data }).catch((err) => console.warn("wake failed", { error: String(err) }));
  }

  /** Right after a socket's proof: it hears of a recent wake (the page a notification opened learns why). */
  tellLastWake(ws: WebSocket): void {
    const last = this.host.kv.get<LastWake>(LAST_KEY);
    if (last !== undefined && this.host.now() - last.at < LAST_WAKE_SHOWN_MS) send(ws, { type: "woken", ...last });
  }

  /** The earliest delivery due, or when the wake memory may go, for the session's one alarm. */
  nextDeadline(): number | undefined {
    const jobs = this.jobs();
    return jobs.length > 0 ? nextJobDue(jobs) : this.host.kv.get<number>(IDLE_KEY);
  }

  /**
   * Runs every delivery due now (on the alarm, and right after a wake); deletes a memory that says
   * nothing. Never rejects: its callers do not wait for it (a failure is logged; leases retry).
   */
  runDue(): Promise<void> {
    return this.deliverDue().catch((err) => console.warn("wake deliveries failed", { error: String(err) }));
  }

  private async deliverDue(): Promise<void> {
    const now = this.host.now();
    const taken = takeDueJobs(this.jobs(), now);
    const idleAt = this.host.kv.get<number>(IDLE_KEY);
    if (taken.queue.length === 0 && idleAt !== undefined && idleAt <= now) for (const key of [MEMORY_KEY, LAST_KEY, IDLE_KEY]) this.host.kv.delete(key);
    if (taken.due.length === 0 && taken.queue.length === this.jobs().length) return;
    this.putJobs(taken.queue);
    await this.host.armAlarm();
    await Promise.all(taken.due.map(async (job) => this.settle(job, await this.attempt(job).catch((): DeliveryOutcome => ({ kind: "retry", status: 0 })))));
    await this.host.armAlarm();
  }

  private async attempt(job: WakeJob): Promise<DeliveryOutcome> {
    const { appId } = job.payload;
    const [record, secrets] = await Promise.all([this.host.app.record(appId), this.host.app.secrets(appId)]);
    const wake = record?.wake;
    const gone = (reason: string): DeliveryOutcome => ({ kind: "refused", status: 0, reason });
    if (job.channel === "webhook") {
      if (wake?.webhookUrl === undefined || secrets?.wakeWebhookSecret === undefined) return gone("the wake webhook is no longer configured");
      return this.host.sender.webhook({ url: wake.webhookUrl, secret: secrets.wakeWebhookSecret, wake: job.payload, allowLocal: this.host.allowLocal });
    }
    const subscription = this.subscriptions().find((s) => s.endpoint === job.endpoint);
    const vapid = secrets?.vapidKeys;
    if (!subscription || !vapid || subscription.applicationServerKey !== vapid.publicKey || wake?.webPush?.enabled !== true) return gone("the subscription, the app's key or its Web Push setting is gone");
    const { addedAt: _a, applicationServerKey: _k, ...browser } = subscription;
    return this.host.sender.webPush({
      subscription: browser,
      payload: pushNotificationPayload(job.payload, Date.now()),
      vapid,
      contact: wake.webPush.contact,
      ttlSec: Math.max(0, Math.ceil((job.expiresAt - this.host.now()) / 1_000)),
      urgency: job.urgency,
      ...(job.key !== undefined && { topicKey: job.key }),
      allowLocal: this.host.allowLocal,
    });
  }

  /** One attempt's outcome into the queue; nothing is written for a delivery a clear took away. */
  private settle(job: WakeJob, outcome: DeliveryOutcome): void {
    const queue = this.jobs();
    if (!queue.some((j) => j.id === job.id)) return;
    const settled = settleJob(queue, job, outcome, this.host.now(), Math.random);
    this.putJobs(settled.queue);
    if (outcome.kind !== "ok") console.warn("wake delivery", { channel: job.channel, attempt: job.attempt, outcome: outcome.kind, status: outcome.status });
    if (settled.removeEndpoint !== undefined) this.host.kv.put(SUBSCRIPTIONS_KEY, removeSubscription(this.subscriptions(), settled.removeEndpoint).subscriptions);
  }

  private subscriptions(): StoredPushSubscription[] {
    return this.host.kv.get<StoredPushSubscription[]>(SUBSCRIPTIONS_KEY) ?? [];
  }

  private putJobs(queue: WakeJob[]): void {
    if (queue.length === 0) this.host.kv.delete(JOBS_KEY);
    else this.host.kv.put(JOBS_KEY, queue);
  }

  private jobs(): WakeJob[] {
    return this.host.kv.get<WakeJob[]>(JOBS_KEY) ?? [];
  }
}

function answer(ws: WebSocket, frame: PushServerFrame): true {
  send(ws, frame);
  return true;
}
