/**
 * Waking a closed app (issue 21, docs/push.md) in the session object, with the fake Kaleyra and the
 * local push service (dev/local-push.ts, which checks each push's VAPID JWT against the app's key and
 * decrypts it with the browser's keys): a listed event with no client attached reaches the push
 * service, exactly what was sent; with a client attached nothing is pushed; one call, one push;
 * 404/410 removes the subscription, 429/5xx is retried on the alarm; clearSavedData takes it all.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { CALL_WAKE_TTL_SEC } from "../core/wake";
import { fakeRemoteControls } from "./fake-remote";
import { advance, sessionNow } from "./harness";
import { attachUser, browserSubscription, captureWakeLogs, connectUser, kaleyraSays, pushesNow, pushesTo, pushLog, pushServiceAnswers, settle, subscribe, userStub, wakeApp, wakeStorage } from "./wake-harness";

afterEach(() => fakeRemoteControls.reset());
const logs = captureWakeLogs();

/** alice connected, subscribed, then her tab closed: the session runs on with no client. */
async function closedApp() {
  const app = await wakeApp();
  const { client, remoteId } = await connectUser(app, "alice");
  const sub = await browserSubscription(app);
  expect(await subscribe(client, app, sub)).toEqual({ type: "push_subscribed", endpoint: sub.endpoint });
  client.close();
  await client.waitFor((c) => c.closed, "the tab closed");
  await settle(app, "alice");
  return { app, remoteId, sub };
}

describe("a call for a user with no client open", () => {
  it("reaches the push service: VAPID verified against the app's key, the payload decrypted is the wake, urgent, for a minute", async () => {
    const { app, remoteId, sub } = await closedApp();
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "call_1", from: "bob", link: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/SECRET" });
    const [push] = await pushesTo(sub);
    expect(push).toMatchObject({ urgency: "high", claims: { aud: "https://push.example.net", sub: "mailto:ops@tenant.example.com" } });
    expect(push!.ttl).toBeGreaterThan(CALL_WAKE_TTL_SEC - 5);
    expect(push!.ttl).toBeLessThanOrEqual(CALL_WAKE_TTL_SEC);
    // The Topic is a digest: the push service learns no call id.
    expect(push!.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(push!.topic).not.toContain("call_1");
    expect(JSON.parse(push!.payload)).toEqual({
      v: 1,
      type: "kaleyra_wake",
      appId: app.appId,
      userId: "alice",
      reason: "kaleyra_event",
      event: { name: "call:incoming", callId: "call_1" },
      title: "Incoming call",
      body: "Open the app to answer.",
      tag: "kaleyra-wake:call_1",
      sentAt: expect.any(Number),
    });
    // Never the event's data: no link, no caller.
    expect(push!.payload).not.toContain("SECRET");
    expect(push!.payload).not.toContain("bob");
    // The operator's line says which app woke, why and how many deliveries; never who, the endpoint or the call.
    expect(logs.lines).toEqual([["wake", { appId: app.appId, reason: "kaleyra_event", event: "call:incoming", deliveries: 1 }]]);
    const logged = JSON.stringify(logs.lines);
    for (const secret of [sub.endpoint, sub.keys.p256dh, sub.keys.auth, "alice", "call_1", "SECRET", "bob"]) expect(logged).not.toContain(secret);
  });

  it("one call, one push: the same call again wakes nobody; another call does", async () => {
    const { app, remoteId, sub } = await closedApp();
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "call_1" });
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "call_1" });
    expect(await pushesTo(sub)).toHaveLength(1);
    await settle(app, "alice");
    expect(await pushesNow(sub)).toHaveLength(1);
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "call_2" });
    expect((await pushesTo(sub, 2)).map((p) => JSON.parse(p.payload).event.callId)).toEqual(["call_1", "call_2"]);
  });

  it("an event the app does not list wakes nobody", async () => {
    const { app, remoteId, sub } = await closedApp();
    await kaleyraSays(app, "alice", remoteId, "chat:typing", { callId: "call_1" });
    await settle(app, "alice");
    expect(await pushesNow(sub)).toEqual([]);
  });

  it("with a client attached nothing is pushed: the page hears the event itself", async () => {
    const app = await wakeApp();
    const { client, remoteId } = await connectUser(app, "alice");
    const sub = await browserSubscription(app);
    await subscribe(client, app, sub);
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "call_1" });
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the relayed event");
    await settle(app, "alice");
    expect(await pushesNow(sub)).toEqual([]);
    expect((await wakeStorage(app, "alice")).keys).not.toContain("wake.memory");
  });

  it("a page that attaches after the wake is told of it (the woken frame), once proven", async () => {
    const { app, remoteId, sub } = await closedApp();
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "call_9" });
    await pushesTo(sub);
    const page = await attachUser(app, "alice");
    await page.waitFor((c) => c.ofType("woken")[0], "the woken frame");
    expect(page.ofType("woken")[0]).toEqual({ type: "woken", at: expect.any(Number), reason: "kaleyra_event", event: { name: "call:incoming", callId: "call_9" } });
    const stranger = await attachUser(app, "alice", false);
    await settle(app, "alice");
    expect(stranger.frames.map((f) => f.type)).toEqual(["auth_required"]);
  });
});

describe("delivery", () => {
  it("404 or 410 from the push service removes the subscription; nothing is retried", async () => {
    for (const status of [404, 410]) {
      const { app, remoteId, sub } = await closedApp();
      await pushServiceAnswers(sub, { status });
      await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: `gone_${status}` });
      const until = Date.now() + 3_000;
      while ((await wakeStorage(app, "alice")).subscriptions.length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(await wakeStorage(app, "alice")).toMatchObject({ subscriptions: [], jobs: [] });
    }
  });

  it("429 is retried on the alarm, not before its Retry-After (30 s here, longer than the 5 s + jitter backoff); then delivered", async () => {
    const { app, remoteId, sub } = await closedApp();
    const stub = userStub(app, "alice");
    await pushServiceAnswers(sub, { status: 429, retryAfter: "30", times: 1 });
    const before = await sessionNow(stub);
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "busy" });
    const until = Date.now() + 3_000;
    let jobs = (await wakeStorage(app, "alice")).jobs;
    // Leased while in flight (15 s), then set to the retry's time (~30 s) once the 429 came back.
    while (!(jobs[0] && jobs[0].dueAt - before > 20_000) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
      jobs = (await wakeStorage(app, "alice")).jobs;
    }
    expect(jobs).toMatchObject([{ channel: "web_push", attempt: 1 }]);
    const retryIn = jobs[0]!.dueAt - (await sessionNow(stub));
    expect(retryIn).toBeGreaterThan(25_000);
    expect(retryIn).toBeLessThanOrEqual(30_000);
    await advance(stub, retryIn - 2_000);
    await runDurableObjectAlarm(stub);
    await settle(app, "alice");
    expect(await pushesNow(sub)).toEqual([]);
    await advance(stub, 2_100);
    await runDurableObjectAlarm(stub);
    expect(await pushesTo(sub)).toHaveLength(1);
    await settle(app, "alice");
    expect((await wakeStorage(app, "alice")).jobs).toEqual([]);
  });

  it("5xx is retried three times at most (5 s, 20 s, 60 s, each + up to 2 s), within the call's minute, then given up", async () => {
    const { app, remoteId, sub } = await closedApp();
    const stub = userStub(app, "alice");
    await pushServiceAnswers(sub, { status: 503 });
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "down" });
    const attempts = async (n: number) => {
      const until = Date.now() + 3_000;
      while ((await pushLog()).refused.filter((r) => r.subscriptionId === sub.id).length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      await settle(app, "alice");
    };
    await attempts(1);
    await advance(stub, 7_100);
    await runDurableObjectAlarm(stub);
    await attempts(2);
    await advance(stub, 22_100);
    await runDurableObjectAlarm(stub);
    await attempts(3);
    // The third retry would come ~60 s after the second (~90 s after the call): past its 60 s TTL.
    expect((await pushLog()).refused.filter((r) => r.subscriptionId === sub.id)).toHaveLength(3);
    expect((await wakeStorage(app, "alice")).jobs).toEqual([]);
  });

  it("the wake memory goes once it says nothing (10 minutes here): only the user's subscriptions stay", async () => {
    const { app, remoteId, sub } = await closedApp();
    const stub = userStub(app, "alice");
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "once" });
    await pushesTo(sub);
    await settle(app, "alice");
    expect((await wakeStorage(app, "alice")).keys.filter((k) => k.startsWith("wake."))).toEqual(["wake.idleAt", "wake.last", "wake.memory", "wake.subscriptions"]);
    await advance(stub, 600_001);
    await runDurableObjectAlarm(stub);
    await settle(app, "alice");
    expect((await wakeStorage(app, "alice")).keys.filter((k) => k.startsWith("wake."))).toEqual(["wake.subscriptions"]);
  });

  it("disconnect(clearSavedData) takes the subscriptions, the wake memory and the waiting deliveries", async () => {
    const { app, remoteId, sub } = await closedApp();
    await pushServiceAnswers(sub, { status: 503 });
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "c" });
    await settle(app, "alice");
    expect((await wakeStorage(app, "alice")).keys).toEqual(expect.arrayContaining(["wake.subscriptions", "wake.memory", "wake.jobs"]));
    const client = await attachUser(app, "alice");
    client.send({ type: "disconnect", clearSavedData: true });
    await client.waitFor((c) => c.ofType("data_cleared").length > 0, "data_cleared");
    await settle(app, "alice");
    expect((await wakeStorage(app, "alice")).keys.filter((k) => k.startsWith("wake."))).toEqual([]);
  });
});
