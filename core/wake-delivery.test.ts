/** A wake's deliveries: where a wake goes, leases, retries and their bound, as the session stores them. */
import { describe, expect, it } from "vitest";
import type { StoredPushSubscription } from "./push-subscription";
import { EMPTY_WAKE_MEMORY, type WakeContext } from "./wake";
import { DELIVERY_LEASE_MS, MAX_WAKE_JOBS, nextJobDue, queueJobs, settleJob, takeDueJobs, wakeUser, type WakeJob } from "./wake-delivery";

const KEY = `B${"K".repeat(86)}`;
const OLD_KEY = `B${"O".repeat(86)}`;
const sub = (n: number, key = KEY): StoredPushSubscription => ({ endpoint: `https://push.example.com/s${n}`, expirationTime: null, keys: { p256dh: "p", auth: "a" }, addedAt: n, applicationServerKey: key });
const ctx: WakeContext = { appId: "mAppId_a", userId: "alice", settings: { events: ["call:incoming"], webPush: { enabled: true, contact: "mailto:o@example.com" } }, provenClients: 0, sessionRunning: true };
const call = { kind: "kaleyra_event" as const, name: "call:incoming", data: { callId: "c1" } };
let ids = 0;
const newId = () => `j${++ids}`;

describe("wakeUser: where a wake goes", () => {
  it("to every subscription made with the app's current key, plus the tenant's webhook; old-key ones are stale", () => {
    const out = wakeUser(call, { ...ctx, settings: { ...ctx.settings!, webhookUrl: "https://t.example.com/w" } }, { subscriptions: [sub(1), sub(2, OLD_KEY)], vapidPublicKey: KEY }, EMPTY_WAKE_MEMORY, 1_000, newId);
    expect(out).toMatchObject({ woken: true, stale: ["https://push.example.com/s2"], last: { at: 1_000, reason: "kaleyra_event", event: { name: "call:incoming", callId: "c1" } } });
    expect(out.woken && out.jobs.map((j) => [j.channel, j.endpoint, j.expiresAt, j.dueAt, j.attempt])).toEqual([
      ["web_push", "https://push.example.com/s1", 61_000, 1_000, 0],
      ["webhook", undefined, 61_000, 1_000, 0],
    ]);
  });

  it("nowhere to go is no_channel, skipped before admission: it costs no rate token and writes no memory", () => {
    expect(wakeUser(call, ctx, { subscriptions: [], vapidPublicKey: KEY }, EMPTY_WAKE_MEMORY, 0, newId)).toEqual({ woken: false, skip: "no_channel" });
    expect(wakeUser(call, ctx, { subscriptions: [sub(1, OLD_KEY)], vapidPublicKey: KEY }, EMPTY_WAKE_MEMORY, 0, newId)).toEqual({ woken: false, skip: "no_channel", stale: ["https://push.example.com/s1"] });
  });

  it("Web Push turned off sends none, even to kept subscriptions", () => {
    const off = { ...ctx, settings: { events: ["call:incoming"], webPush: { enabled: false, contact: "mailto:o@example.com" }, webhookUrl: "https://t.example.com/w" } };
    const out = wakeUser(call, off, { subscriptions: [sub(1)], vapidPublicKey: KEY }, EMPTY_WAKE_MEMORY, 0, newId);
    expect(out.woken && out.jobs.map((j) => j.channel)).toEqual(["webhook"]);
  });

  it("a duplicate or a rate-limited wake says so, and the memory to store", () => {
    const first = wakeUser(call, ctx, { subscriptions: [sub(1)], vapidPublicKey: KEY }, EMPTY_WAKE_MEMORY, 0, newId);
    expect(first.woken).toBe(true);
    const again = wakeUser(call, ctx, { subscriptions: [sub(1)], vapidPublicKey: KEY }, first.memory!, 10, newId);
    expect(again).toMatchObject({ woken: false, skip: "duplicate", memory: expect.any(Object) });
  });
});

describe("the queue", () => {
  const job = (id: string, dueAt: number, extra: Partial<WakeJob> = {}): WakeJob => ({
    id,
    channel: "web_push",
    endpoint: `https://push.example.com/${id}`,
    payload: { appId: "mAppId_a", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming" } },
    urgency: "high",
    ttlSec: 60,
    expiresAt: 60_000,
    attempt: 0,
    dueAt,
    ...extra,
  });

  it("takes what is due, leased for DELIVERY_LEASE_MS with its attempt counted; drops what expired", () => {
    const { due, queue } = takeDueJobs([job("a", 0), job("b", 5_000), job("c", 0, { expiresAt: 1_000 })], 1_000);
    expect(due.map((j) => [j.id, j.attempt, j.dueAt])).toEqual([["a", 1, 1_000 + DELIVERY_LEASE_MS]]);
    expect(queue.map((j) => j.id)).toEqual(["a", "b"]);
    expect(nextJobDue(queue)).toBe(5_000);
    expect(nextJobDue([])).toBeUndefined();
  });

  it("an evicted send is tried again when its lease ends (at least once)", () => {
    const leased = takeDueJobs([job("a", 0)], 0).queue;
    expect(takeDueJobs(leased, DELIVERY_LEASE_MS - 1).due).toEqual([]);
    expect(takeDueJobs(leased, DELIVERY_LEASE_MS).due.map((j) => j.attempt)).toEqual([2]);
  });

  it("settles: ok leaves, 404/410 leaves and names the endpoint to drop, 5xx stays with its retry time", () => {
    const [a] = takeDueJobs([job("a", 0)], 0).due;
    const queue = [a!];
    expect(settleJob(queue, a!, { kind: "ok", status: 201 }, 10, () => 0)).toEqual({ queue: [] });
    expect(settleJob(queue, a!, { kind: "gone", status: 410 }, 10, () => 0)).toEqual({ queue: [], removeEndpoint: "https://push.example.com/a" });
    expect(settleJob(queue, a!, { kind: "retry", status: 503 }, 10, () => 0).queue.map((j) => j.dueAt)).toEqual([5_010]);
  });

  it("an answer for a delivery no longer queued (a clear took it) queues nothing", () => {
    const [a] = takeDueJobs([job("a", 0)], 0).due;
    expect(settleJob([], a!, { kind: "retry", status: 503 }, 10, () => 0)).toEqual({ queue: [] });
  });

  it("keeps at most MAX_WAKE_JOBS, the oldest going first", () => {
    const many = Array.from({ length: MAX_WAKE_JOBS + 3 }, (_, i) => job(`j${i}`, 0));
    const queue = queueJobs([], many);
    expect(queue).toHaveLength(MAX_WAKE_JOBS);
    expect(queue[0]!.id).toBe("j3");
  });
});
