/** Waking a closed app: which triggers wake, one wake per call, the rate limit, the payloads, the retries. */
import { describe, expect, it } from "vitest";
import { seq } from "./testing";
import {
  admitWake,
  afterDelivery,
  CALL_WAKE_TTL_SEC,
  EMPTY_WAKE_MEMORY,
  MAX_PUSH_PAYLOAD_BYTES,
  MAX_WAKE_KEYS,
  planWake,
  wakeMemoryIdleAt,
  pushNotificationPayload,
  wakeWebhookBody,
  type WakeContext,
  type WakeMemory,
  type WakePayload,
} from "./wake";
import { DEFAULT_WAKE_LIMITS, type WakeSettings } from "./wake-settings";

const settings: WakeSettings = { events: ["call:incoming", "on_call_incoming"], webPush: { enabled: true, contact: "mailto:ops@tenant.example.com" } };
const ctx: WakeContext = { appId: "mAppId_a", userId: "alice", settings, provenClients: 0, sessionRunning: true };
const incoming = { kind: "kaleyra_event" as const, name: "call:incoming", data: { callId: "call_1", from: "bob", link: "https://x/rest-call-handler/SECRET" } };

describe("planWake: which triggers wake", () => {
  it("a listed Kaleyra event for a running session with no proven client wakes, urgently, for a minute", () => {
    expect(planWake(incoming, ctx)).toEqual({
      wake: true,
      plan: {
        key: "call:call_1",
        payload: { appId: "mAppId_a", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming", callId: "call_1" } },
        urgency: "high",
        ttlSec: CALL_WAKE_TTL_SEC,
      },
    });
  });

  it("never carries the Kaleyra event's data (it may hold links or tokens)", () => {
    const decision = planWake(incoming, ctx);
    expect(JSON.stringify(decision)).not.toContain("SECRET");
    expect(JSON.stringify(decision)).not.toContain("bob");
  });

  it("skips with a proven client attached, an unlisted event, no running session, or no channel on", () => {
    expect(planWake(incoming, { ...ctx, provenClients: 1 })).toEqual({ wake: false, skip: "client_attached" });
    expect(planWake({ ...incoming, name: "chat:typing" }, ctx)).toEqual({ wake: false, skip: "event_not_listed" });
    expect(planWake(incoming, { ...ctx, sessionRunning: false })).toEqual({ wake: false, skip: "no_session" });
    expect(planWake(incoming, { ...ctx, settings: undefined })).toEqual({ wake: false, skip: "wake_off" });
    expect(planWake(incoming, { ...ctx, settings: { ...settings, webPush: { enabled: false, contact: "mailto:a@b.c" } } })).toEqual({ wake: false, skip: "wake_off" });
    // The tenant's webhook alone is a channel.
    expect(planWake(incoming, { ...ctx, settings: { events: ["call:incoming"], webhookUrl: "https://tenant.example.com/wake" } })).toMatchObject({ wake: true });
  });

  it("the v0 webhook on_call_incoming wakes when listed, keyed by its room: the same call relayed too is one key", () => {
    const viaWebhook = planWake({ kind: "call_incoming", roomId: "call_1" }, ctx);
    expect(viaWebhook).toMatchObject({ wake: true, plan: { key: "call:call_1", urgency: "high", payload: { reason: "call_incoming", event: { name: "on_call_incoming", callId: "call_1" } } } });
    expect(planWake({ kind: "call_incoming", roomId: "r" }, { ...ctx, settings: { ...settings, events: ["call:incoming"] } })).toEqual({ wake: false, skip: "event_not_listed" });
  });

  it("keys an event without a call id by its name; reads callId, call_id, roomId or room_id", () => {
    expect(planWake({ ...incoming, data: null }, ctx)).toMatchObject({ plan: { key: "event:call:incoming", payload: { event: { name: "call:incoming" } } } });
    expect(planWake({ ...incoming, data: { room_id: "r9" } }, ctx)).toMatchObject({ plan: { key: "call:r9" } });
    expect(planWake({ ...incoming, data: { callId: "a/b" } }, ctx)).toMatchObject({ plan: { key: "event:call:incoming" } });
  });

  it("a tenant wake needs no running session, keys by the tenant's id, and keeps its texts", () => {
    const wake = { event: "chat:message", id: "m1", title: "Bob", body: "Hi", data: { chatId: "c1" }, ttlSec: 600, urgency: "normal" as const };
    expect(planWake({ kind: "tenant", wake }, { ...ctx, sessionRunning: false, settings: { events: [], webhookUrl: "https://t.example.com/w" } })).toEqual({
      wake: true,
      plan: {
        key: "tenant:m1",
        payload: { appId: "mAppId_a", userId: "alice", reason: "tenant", event: { name: "chat:message", id: "m1", title: "Bob", body: "Hi", data: { chatId: "c1" } } },
        urgency: "normal",
        ttlSec: 600,
      },
    });
    const unkeyed = planWake({ kind: "tenant", wake: { event: "x" } }, ctx);
    expect(unkeyed).toMatchObject({ wake: true, plan: { urgency: "normal", ttlSec: 3_600 } });
    expect(unkeyed.wake && "key" in unkeyed.plan).toBe(false);
    expect(planWake({ kind: "tenant", wake: { event: "x" } }, { ...ctx, provenClients: 2 })).toEqual({ wake: false, skip: "client_attached" });
  });
});

describe("admitWake: one wake per call per user, and a rate limit", () => {
  const limits = DEFAULT_WAKE_LIMITS;

  it("the same call wakes once within the dedup window, and again after it; a duplicate costs no token", () => {
    let m: WakeMemory = EMPTY_WAKE_MEMORY;
    const first = admitWake(m, "call:1", 0, limits);
    expect(first.admitted).toBe(true);
    m = first.memory;
    const same = admitWake(m, "call:1", 0, limits);
    expect(same).toMatchObject({ admitted: false, skip: "duplicate", memory: { bucket: { tokens: 4 } } });
    expect(admitWake(same.memory, "call:1", 599_999, limits)).toMatchObject({ admitted: false, skip: "duplicate" });
    expect(admitWake(same.memory, "call:1", 600_000, limits).admitted).toBe(true);
  });

  it("burst 5, then one more every 20 s", () => {
    let m: WakeMemory = EMPTY_WAKE_MEMORY;
    for (let i = 0; i < 5; i++) {
      const a = admitWake(m, `call:${i}`, 1_000, limits);
      expect(a.admitted).toBe(true);
      m = a.memory;
    }
    const sixth = admitWake(m, "call:5", 1_000, limits);
    expect(sixth).toMatchObject({ admitted: false, skip: "rate_limited" });
    expect(admitWake(sixth.memory, "call:5", 20_999, limits).admitted).toBe(false);
    const later = admitWake(sixth.memory, "call:5", 21_000, limits);
    expect(later.admitted).toBe(true);
    // A rate-limited call was not remembered: it may wake once a token is back.
    expect(admitWake(later.memory, "call:6", 21_000, limits)).toMatchObject({ admitted: false, skip: "rate_limited" });
  });

  it("wakes without a key are rate-limited but never deduplicated", () => {
    const a = admitWake(EMPTY_WAKE_MEMORY, undefined, 0, limits);
    const b = admitWake(a.memory, undefined, 0, limits);
    expect([a.admitted, b.admitted]).toEqual([true, true]);
    expect(b.memory.seen).toEqual([]);
  });

  it("remembers at most MAX_WAKE_KEYS keys, dropping the oldest, and forgets expired ones", () => {
    let m: WakeMemory = EMPTY_WAKE_MEMORY;
    const roomy = { ...limits, burst: 50, refillSec: 1 };
    for (let i = 0; i < MAX_WAKE_KEYS + 3; i++) m = admitWake(m, `call:${i}`, i * 1_000, roomy).memory;
    expect(m.seen).toHaveLength(MAX_WAKE_KEYS);
    expect(m.seen[0]!.key).toBe("call:3");
    expect(admitWake(m, "x", 10_000_000, roomy).memory.seen.map((s) => s.key)).toEqual(["x"]);
  });
});

describe("what a wake carries", () => {
  const wake: WakePayload = { appId: "mAppId_a", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming", callId: "c1" } };

  it("the Web Push payload: the wake, texts to show, and a tag per call so repeats collapse", () => {
    expect(JSON.parse(pushNotificationPayload(wake, 1_000))).toEqual({
      v: 1,
      type: "kaleyra_wake",
      ...wake,
      title: "Incoming call",
      body: "Open the app to answer.",
      tag: "kaleyra-wake:c1",
      sentAt: 1_000,
    });
  });

  it("a tenant's texts are shown; its data goes first when the payload would be over the bound", () => {
    const tenant: WakePayload = { ...wake, reason: "tenant", event: { name: "chat", id: "m1", title: "Bob", body: "Hi", data: { pad: "x".repeat(MAX_PUSH_PAYLOAD_BYTES) } } };
    const text = pushNotificationPayload(tenant, 0);
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(MAX_PUSH_PAYLOAD_BYTES);
    expect(JSON.parse(text)).toMatchObject({ title: "Bob", body: "Hi", tag: "kaleyra-wake:m1", event: { name: "chat", id: "m1" } });
    expect(JSON.parse(text).event.data).toBeUndefined();
  });

  it("the wake webhook's body is exactly { appId, userId, reason, event }", () => {
    expect(JSON.parse(wakeWebhookBody(wake))).toEqual(wake);
    expect(Object.keys(JSON.parse(wakeWebhookBody(wake)))).toEqual(["appId", "userId", "reason", "event"]);
  });
});

describe("afterDelivery: what the session does after an attempt", () => {
  const at = (attempt: number, now = 0, expiresAt = 3_600_000) => ({ attempt, now, expiresAt });

  it("ok is done; 404/410 removes the subscription; a refusal gives up", () => {
    expect(afterDelivery({ kind: "ok", status: 201 }, { ...at(1), random: seq() })).toEqual({ action: "done" });
    expect(afterDelivery({ kind: "gone", status: 410 }, { ...at(1), random: seq() })).toEqual({ action: "remove_subscription" });
    expect(afterDelivery({ kind: "refused", status: 403, reason: "x" }, { ...at(1), random: seq() })).toEqual({ action: "give_up" });
  });

  it("429/5xx: attempt 2 after 5 s, 3 after 20 s, 4 after 60 s, each plus up to 2 s of jitter; then it gives up", () => {
    const retry = { kind: "retry" as const, status: 503 };
    expect(afterDelivery(retry, { ...at(1, 1_000), random: seq(0.5) })).toEqual({ action: "retry", at: 1_000 + 5_000 + 1_000 });
    expect(afterDelivery(retry, { ...at(2, 0), random: seq(0) })).toEqual({ action: "retry", at: 20_000 });
    expect(afterDelivery(retry, { ...at(3, 0), random: seq(0.999) })).toEqual({ action: "retry", at: 60_000 + 1_998 });
    expect(afterDelivery(retry, { ...at(4, 0), random: seq() })).toEqual({ action: "give_up" });
  });

  it("waits for a longer Retry-After; gives up when it is over an hour or past the wake's TTL", () => {
    expect(afterDelivery({ kind: "retry", status: 429, retryAfterSec: 30 }, { ...at(1), random: seq(0) })).toEqual({ action: "retry", at: 30_000 });
    expect(afterDelivery({ kind: "retry", status: 429, retryAfterSec: 3_601 }, { ...at(1), random: seq() })).toEqual({ action: "give_up" });
    // A call's wake lives 60 s: the third wait (60 s) would end past it.
    expect(afterDelivery({ kind: "retry", status: 500 }, { ...at(3, 25_000, 60_000), random: seq(0) })).toEqual({ action: "give_up" });
  });
});

describe("wakeMemoryIdleAt: when the memory can go", () => {
  it("once every key is forgotten and the bucket is full again, whichever is later", () => {
    const limits = DEFAULT_WAKE_LIMITS;
    const admitted = admitWake(EMPTY_WAKE_MEMORY, "call:a", 1_000, limits);
    // One token used at 1 s: full again 20 s later; the key is remembered 600 s.
    expect(wakeMemoryIdleAt(admitted.memory, limits)).toBe(1_000 + 600_000);
    const noKey = admitWake(EMPTY_WAKE_MEMORY, undefined, 1_000, { ...limits, refillSec: 3_600 });
    expect(wakeMemoryIdleAt(noKey.memory, { ...limits, refillSec: 3_600 })).toBe(1_000 + 3_600_000);
    expect(wakeMemoryIdleAt(EMPTY_WAKE_MEMORY, limits)).toBe(0);
  });
});
