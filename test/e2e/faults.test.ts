/**
 * Fault matrix against the Kaleyra emulator (Worker -> UserSession -> production adapter ->
 * emulator): the remote refuses, hangs, answers 5xx, answers token_expired for ever, answers
 * slowly; a token of another user; webhooks duplicated, out of order or racing a session. docs/reliability.md
 * lists every row with its expected outcome.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_RETRY_POLICY, reconnectDelay, tokenAttemptDelay, type RetryPolicy } from "../../core/policy";
import type { UserSession } from "../worker";
import { call, createRoom, createUser, heldRequests, setClockOffset, setFaults, waitUntil, type TestApp } from "../../dev/emulator/testing";
import { signWebhook } from "../../crypto/signature";
import { advance, sessionNow, snapshot, storageOf, type SessionStub, type TestClient } from "../harness";
import { connects, fireAt, settle, waitForSnapshot } from "../reliability/helpers";
import { alice, answerWithMinted, attachVia, connectedLink, mintToken, openConnections, registerApp, stubFor } from "./stack";

afterEach(async () => {
  await setFaults({});
  await setClockOffset(0);
});

async function aliceSession(settings: Record<string, unknown> = {}, withApiKey = false): Promise<{ app: TestApp; stub: SessionStub; client: TestClient }> {
  const app = await registerApp(settings, withApiKey);
  await createUser(app, "alice");
  const stub = await stubFor(app.appId, alice);
  const client = await attachVia(app.appId, alice);
  return { app, stub, client };
}

async function answer(client: TestClient, n: number, token: string) {
  const request = await client.nextTokenRequest(n);
  client.send({ type: "token", requestId: request.requestId, token });
  return request;
}

describe("the remote fails", () => {
  it.each([
    ["refuses (outage refuse: 503 at once)", { outage: "refuse" }],
    ["answers 5xx (errorRate 1)", { errorRate: 1 }],
  ])("remote %s: unreachable ends the token cycle at once, the reconnect schedule runs, and the session recovers when the remote does", async (_name, faults) => {
    const { app, stub, client } = await aliceSession();
    const token = await mintToken(app, "alice"); // minted before the fault: it refuses minting too
    await setFaults(faults);
    client.send({ type: "connect", userId: "alice" });
    await answer(client, 0, token);
    // No token attempt 2 in a cycle the remote cut short: reconnect attempt 1 at once, attempt 1 of its cycle.
    expect(await client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
    expect(await client.waitFor((c) => c.lastState()?.reconnectAttempt === 1 && c.lastState(), "reconnect 1")).toMatchObject({ status: "reconnecting", tokenAttempt: 1 });
    const before = await sessionNow(stub);
    await answer(client, 1, token);
    const waiting = await waitForSnapshot(stub, (s) => s.nextReconnectAt !== undefined, "the wait before reconnect 2");
    expect(waiting.nextReconnectAt! - before).toBeGreaterThanOrEqual(3_000);
    expect(waiting.nextReconnectAt! - (await sessionNow(stub))).toBeLessThanOrEqual(3_000 + DEFAULT_RETRY_POLICY.jitterMaxMs);
    expect((await storageOf(stub)).alarmAt).toBe(waiting.nextReconnectAt);
    await setFaults({});
    await fireAt(stub, waiting.nextReconnectAt!);
    await answer(client, 2, token);
    expect(await client.waitForStatus("connected")).toMatchObject({ reconnectAttempt: 0, tokenAttempt: 0 });
    expect(connects(client)).toBe(1);
  });

  it("remote hangs (outage hang): the open's deadline counts as unreachable and the reconnect schedule runs; the held answer, released later, is ignored", async () => {
    const { app, stub, client } = await aliceSession();
    const token = await mintToken(app, "alice");
    await setFaults({ outage: "hang" });
    client.send({ type: "connect", userId: "alice" });
    await answer(client, 0, token);
    await waitUntil(async () => (await heldRequests()) >= 1, "the open to be held");
    const { pendingRemote } = await snapshot(stub);
    expect(pendingRemote?.deadline).toBeDefined();
    await fireAt(stub, pendingRemote!.deadline);
    const next = await client.nextTokenRequest(1);
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, pendingRemote: undefined });
    // The emulator now answers the held open with a session: too late, it belongs to no pending call.
    await setFaults({});
    await waitUntil(async () => (await heldRequests()) === 0, "the held open to be released");
    await settle(200);
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", pendingToken: { requestId: next.requestId } });
    expect(connects(client)).toBe(0);
    client.send({ type: "token", requestId: next.requestId, token });
    await client.waitForStatus("connected");
    expect(connects(client)).toBe(1);
  });

  it("an open the session gave up on (its deadline passed while the remote hung) that succeeds later is closed: no Kaleyra session is left open after disconnect", async () => {
    const { app, stub, client } = await aliceSession();
    const token = await mintToken(app, "alice");
    await setFaults({ outage: "hang" });
    client.send({ type: "connect", userId: "alice" });
    await answer(client, 0, token);
    await waitUntil(async () => (await heldRequests()) >= 1, "the open to be held");
    await fireAt(stub, (await snapshot(stub)).pendingRemote!.deadline);
    const next = await client.nextTokenRequest(1);
    await setFaults({}); // the held open now succeeds at the emulator, too late for the session
    await waitUntil(async () => (await heldRequests()) === 0, "the held open to be released");
    client.send({ type: "token", requestId: next.requestId, token });
    await client.waitForStatus("connected");
    client.send({ type: "disconnect" });
    await client.waitForStatus("disconnected");
    await settle(200);
    // Expected: no Kaleyra session of alice is left open once she disconnected.
    expect(await openConnections(app, "alice")).toBe(0);
  });

  it("remote answers slowly (latencyMs 300, under the attempt timeout): the session still connects, with one token request", async () => {
    const { app, client } = await aliceSession();
    const token = await mintToken(app, "alice");
    await setFaults({ latencyMs: 300 });
    client.send({ type: "connect", userId: "alice" });
    const startedAt = Date.now();
    await answer(client, 0, token);
    await client.waitForStatus("connected");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(client.ofType("token_request")).toHaveLength(1);
    expect(connects(client)).toBe(1);
  });

  it("a token of another user (minted for bob, answered for alice): the remote refuses it (access_token_invalid_user), the attempt fails and the next attempt follows", async () => {
    const { app, stub, client } = await aliceSession();
    await createUser(app, "bob");
    client.send({ type: "connect", userId: "alice" });
    await answer(client, 0, await mintToken(app, "bob"));
    const s = await waitForSnapshot(stub, (x) => x.nextTokenAttemptAt !== undefined, "attempt 1 failed");
    expect(s).toMatchObject({ status: "connecting", tokenAttempt: 1, reconnectAttempt: 0 });
    await fireAt(stub, s.nextTokenAttemptAt!);
    await answerWithMinted(client, app, "alice", 1);
    await client.waitForStatus("connected");
    expect(connects(client)).toBe(1);
  });
});

describe("the remote answers token_expired for ever", () => {
  /** When each token request of an endless failing schedule starts (jitter 0), up to `horizonMs`. */
  function modelRequestTimes(policy: RetryPolicy, horizonMs: number): number[] {
    const zero = () => 0;
    const times: number[] = [];
    let cycleStart = 0;
    for (let reconnects = 0; ; reconnects++) {
      let at = cycleStart;
      for (let i = 0; ; i++) {
        const wait = tokenAttemptDelay(policy, i, zero);
        if (wait === undefined) break;
        at += wait;
        if (at > horizonMs) return times;
        times.push(at);
      }
      cycleStart = at + reconnectDelay(policy, reconnects, zero);
    }
  }

  it("every minted token is expired on the emulator's clock: each cycle fails, the reconnect schedule paces the requests, never a tight loop (10 simulated minutes)", async () => {
    const policy = { ...DEFAULT_RETRY_POLICY, jitterMaxMs: 0 };
    const { app, stub, client } = await aliceSession({ retryPolicy: { jitterMaxMs: 0 } });
    const token = await mintToken(app, "alice", 3_600);
    await setClockOffset(2 * 3_600_000); // the emulator is two hours ahead: the token expired an hour ago
    const horizon = 10 * 60_000;
    client.send({ type: "connect", userId: "alice" });
    await waitForSnapshot(stub, (x) => x.pendingToken !== undefined, "connecting");
    const t0 = await sessionNow(stub);
    const starts: number[] = [];
    let firedAt: number | undefined = t0;
    for (let step = 0; step < 300; step++) {
      const s = await snapshot(stub);
      if (s.pendingRemote) {
        await waitForSnapshot(stub, (x) => x.pendingRemote === undefined, "the open to fail");
        continue;
      }
      if (s.pendingToken) {
        // A request is out (started by an alarm, or at once when a cycle failed): answer it with the expired token.
        starts.push(firedAt ?? (await sessionNow(stub)));
        firedAt = undefined;
        const request = await client.nextTokenRequest(starts.length - 1);
        expect(request.requestId).toBe(s.pendingToken.requestId);
        await settle(60); // simulated time runs fast; stay under the 20 frames/s a socket may send
        client.send({ type: "token", requestId: request.requestId, token });
        await waitForSnapshot(stub, (x) => x.pendingToken?.requestId !== request.requestId && x.pendingRemote === undefined, "the open to fail");
        continue;
      }
      const due = s.nextTokenAttemptAt ?? s.nextReconnectAt;
      if (due === undefined) throw new Error(`nothing is due at step ${step}: ${JSON.stringify(s)}`);
      if (due! - t0 > horizon) break;
      await fireAt(stub, due!);
      firedAt = due!;
    }
    const model = modelRequestTimes(policy, horizon);
    const actual = starts.map((t) => t - t0);
    expect(actual).toHaveLength(model.length); // 36 requests in 10 minutes with the seed's tables
    // Simulated time only drifts later by the real milliseconds each answer took.
    actual.forEach((t, i) => {
      expect(t).toBeGreaterThanOrEqual(model[i]!);
      expect(t - model[i]!).toBeLessThan(5_000);
    });
    // Never a tight loop: at most two requests in any second (a spent cycle's third attempt and
    // reconnect 1's first, which runs at once), every gap as the tables say.
    actual.forEach((t, i) => expect(actual.filter((u) => u >= t && u < t + 1_000).length, `requests in the second after ${t} ms`).toBeLessThanOrEqual(2));
    actual.slice(1).forEach((t, i) => expect(Math.abs(t - actual[i]! - (model[i + 1]! - model[i]!))).toBeLessThan(1_000));
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", reconnectAttempt: model.length / 3 - 1 });
    expect(client.ofType("error").filter((e) => e.code === "token_request_stale")).toHaveLength(0);
    expect(connects(client)).toBe(0);
  });
});

describe("webhooks duplicated or out of order", () => {
  /** The last webhook the emulator sent for the app, re-signed `shiftSec` later: a retried delivery. */
  async function redeliver(app: TestApp, event: string, shiftSec = 1): Promise<Response> {
    const outbox = await call("GET", `/control/webhooks?appId=${app.appId}`);
    const sent = (outbox.json.webhooks as { event: string; body: string }[]).filter((w) => w.event === event).at(-1);
    if (!sent) throw new Error(`no ${event} webhook in the outbox`);
    const t = Math.floor(Date.now() / 1_000) + shiftSec;
    return SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${app.appId}`, {
      method: "POST",
      headers: { "bandyer-signature": await signWebhook(app.apiKey, sent.body, t) },
      body: sent.body,
    });
  }

  it("call ended twice (a retried delivery): the first ends the call and clears its data, the second is acknowledged and changes nothing", async () => {
    const { app, stub, client, roomId } = await connectedLink();
    expect((await call("POST", `/v2/rooms/${roomId}/end`, { apiKey: app.apiKey })).status).toBe(200);
    await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    const frames = client.frames.length;
    const again = await redeliver(app, "on_session_ended");
    expect(again.status).toBe(200);
    await settle();
    expect(client.frames.length).toBe(frames);
    expect(await storageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
  });

  it("out of order: the room's deletion after its call's end (two events, one room) is acknowledged and changes nothing", async () => {
    const { app, stub, client, roomId } = await connectedLink();
    expect((await call("POST", `/v2/rooms/${roomId}/end`, { apiKey: app.apiKey })).status).toBe(200);
    await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    await settle();
    const frames = client.frames.length;
    expect((await call("DELETE", `/rest/room/delete/${roomId}`, { apiKey: app.apiKey })).status).toBe(200);
    const outbox = await call("GET", `/control/webhooks?appId=${app.appId}`);
    expect(outbox.json.webhooks.at(-1)).toMatchObject({ event: "on_room_deleted", status: 200 });
    await settle();
    expect(client.frames.length).toBe(frames);
    expect(await storageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
  });

  it("a webhook whose handling failed (5xx) is not refused as a replay when the sender retries the same delivery", async () => {
    const { app, roomId } = await connectedLink();
    // The call to the session fails once while handling the webhook (an eviction, an overloaded
    // object). Injected at the binding the Worker uses (the test shares its env), so the failure is
    // a rejected call the route must handle, not an exception workerd reports as uncaught.
    const sessions = env.USER_SESSION as unknown as { get(id: unknown): unknown };
    const get = sessions.get;
    sessions.get = () => {
      sessions.get = get;
      return { callEnded: () => Promise.reject(new Error("injected: handler failed")) };
    };
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const body = JSON.stringify({ event: "on_room_deleted", event_version: "1.0", namespace: "room", timestamp: Date.now(), data: { room_id: roomId } });
    const signature = await signWebhook(app.apiKey, body, Math.floor(Date.now() / 1_000));
    const post = () => SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${app.appId}`, { method: "POST", headers: { "bandyer-signature": signature }, body });
    try {
      expect((await post()).status).toBeGreaterThanOrEqual(500);
      expect(sessions.get).toBe(get);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("failed: injected: handler failed"));
    } finally {
      sessions.get = get;
      logged.mockRestore();
    }
    // The sender retries the same request, as HTTP clients do after a 5xx: accepted, not webhook_replayed.
    // (The session it failed to reach was already taken from the room index: docs/reliability.md.)
    const retry = await post();
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true, handled: "on_room_deleted" });
  });

  it("one session failing to take the call's end does not keep the others in the room from ending", async () => {
    const app = await registerApp({}, true);
    await createUser(app, "bob");
    await createUser(app, "carol");
    const room = await createRoom(app, ["bob", "carol"]);
    const clients: TestClient[] = [];
    const stubs: SessionStub[] = [];
    for (const participant of room.participants) {
      const link = { kind: "access_link", accessLink: participant.access_link } as const;
      stubs.push(await stubFor(app.appId, link));
      const client = await attachVia(app.appId, link);
      client.send({ type: "connect", accessLink: link.accessLink });
      await client.waitForStatus("connected");
      clients.push(client);
    }
    // The first session the route calls fails; the other must still be told.
    const sessions = env.USER_SESSION as unknown as { get(id: unknown): unknown };
    const get = sessions.get;
    sessions.get = () => {
      sessions.get = get;
      return { callEnded: () => Promise.reject(new Error("injected: handler failed")) };
    };
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const body = JSON.stringify({ event: "on_room_deleted", event_version: "1.0", namespace: "room", timestamp: Date.now(), data: { room_id: room.room_id } });
    const signature = await signWebhook(app.apiKey, body, Math.floor(Date.now() / 1_000));
    try {
      const res = await SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${app.appId}`, { method: "POST", headers: { "bandyer-signature": signature }, body });
      expect(res.status).toBeGreaterThanOrEqual(500);
    } finally {
      sessions.get = get;
      logged.mockRestore();
    }
    const states = await Promise.all(stubs.map((stub) => snapshot(stub)));
    expect(states.map((s) => s.status).sort()).toEqual(["connected", "disconnected"]);
    expect(states.find((s) => s.status === "disconnected")).toMatchObject({ reason: "call_ended" });
  });

  it("a call-ended webhook handled while the link session's open is in flight ends the session as soon as it connects (call_ended)", async () => {
    const app = await registerApp({}, true);
    await createUser(app, "bob");
    const room = await createRoom(app, ["bob"]);
    const link = { kind: "access_link", accessLink: room.participants[0]!.access_link } as const;
    const stub = await stubFor(app.appId, link);
    const client = await attachVia(app.appId, link, { prove: false });
    // The remote answers the open; the call ends (and its webhook is handled) before that answer reaches the session.
    await runInDurableObject(stub, (o: UserSession) => {
      o.testRemote.override((real) => ({
        openSession: async (request) => {
          const result = await real.openSession(request);
          await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
          return result;
        },
      }));
    });
    client.send({ type: "connect", accessLink: link.accessLink });
    await waitForSnapshot(stub, (s) => s.status !== "connecting", "the open to settle");
    await settle(200);
    // Expected: the call ended, so the session ended by itself (call_ended) and cleared its data.
    expect(await snapshot(stub)).toMatchObject({ status: "disconnected", reason: "call_ended" });
  });
});

describe("alarms delivered early or twice", () => {
  it("an alarm delivered early (before anything is due) and again after its duty ran sends nothing twice, against the emulator", async () => {
    const { app, stub, client } = await aliceSession();
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0, 360);
    const connected = await client.waitForStatus("connected");
    expect(await runDurableObjectAlarm(stub)).toBe(true); // early: nothing due
    await settle();
    expect(client.ofType("token_request")).toHaveLength(1);
    await advance(stub, connected.refreshAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true); // the refresh
    await client.nextTokenRequest(1);
    await runInDurableObject(stub, (o: UserSession) => o.alarm()); // delivered again
    await settle();
    expect(client.ofType("token_request")).toHaveLength(2);
  });
});
