/**
 * UserSession under workerd: the glue performs core's effects. The schedule's arithmetic is pinned
 * in core/*.test.ts; here alarms, storage, sockets and eviction are the subject.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { nextDue } from "../core/session";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { advance, attach, sessionNow, sessionStorageOf, sessionStub, snapshot, storageOf, waitForSnapshot } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const HOUR = 3_600_000;

afterEach(() => fakeRemoteControls.reset());

describe("token session", () => {
  it("asks the client for a token at connect and is connected with the remote's expiry", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    expect(request).toMatchObject({ userId: "alice", attempt: 1 });
    const expiresAt = (await sessionNow(stub)) + HOUR;
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", expiresAt) });
    const state = await client.waitForStatus("connected");
    expect(state).toMatchObject({ mode: "token", userId: "alice", expiresAt, tokenAttempt: 0, reconnectAttempt: 0 });
    // The one alarm is armed for the earliest duty: the refresh, before the rare liveness check (6 h).
    const s = await snapshot(stub);
    expect(s.refreshAt).toBeLessThanOrEqual(expiresAt - 60_000);
    expect(s.refreshAt).toBeGreaterThanOrEqual(expiresAt - 60_000 - 5 * 60_000);
    expect(s.livenessCheckAt).toBeGreaterThan(s.refreshAt!);
    expect(nextDue(s)).toBe(s.refreshAt);
    // (Armed earlier still: the used attach ticket's expiry, durable-objects/used-tickets.ts.)
    expect((await storageOf(stub)).alarmAt).toBeLessThanOrEqual(s.refreshAt!);
  });

  it("an alarm runs token attempt 2 after a 15 s silence, 1 s + jitter later", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const first = await client.nextTokenRequest();
    const startedAt = (await snapshot(stub)).pendingToken!.deadline - 15_000;
    expect((await storageOf(stub)).alarmAt).toBe(startedAt + 15_000);

    await advance(stub, 15_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const waiting = await snapshot(stub);
    expect(waiting.pendingToken).toBeUndefined();
    const wait = waiting.nextTokenAttemptAt! - (startedAt + 15_000);
    expect(wait).toBeGreaterThanOrEqual(1_000);
    expect(wait).toBeLessThanOrEqual(3_000);
    expect((await storageOf(stub)).alarmAt).toBe(waiting.nextTokenAttemptAt);

    await advance(stub, 3_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const second = await client.nextTokenRequest(1);
    expect(second.attempt).toBe(2);
    expect(second.requestId).not.toBe(first.requestId);
  });

  it("after 3 failed attempts the reconnect schedule runs a fresh token cycle at once", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const request = await client.nextTokenRequest(attempt - 1);
      expect(request.attempt).toBe(attempt);
      client.send({ type: "token_failed", requestId: request.requestId });
      if (attempt < 3) {
        await client.waitFor(() => true, "settle", 0).catch(() => undefined);
        const s = await waitForSnapshot(stub, (x) => x.nextTokenAttemptAt !== undefined);
        await advance(stub, s.nextTokenAttemptAt! - (await sessionNow(stub)));
        expect(await runDurableObjectAlarm(stub)).toBe(true);
      }
    }
    // Reconnect attempt 1 has no wait: its token attempt 1 is already out.
    const reconnect = await client.nextTokenRequest(3);
    expect(reconnect.attempt).toBe(1);
    const state = await client.waitFor((c) => c.lastState()?.reconnectAttempt === 1 && c.lastState(), "reconnect 1");
    expect(state.status).toBe("reconnecting");
  });

  it("refreshes before expiry through one token request, staying connected", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    const expiresAt = await connectAlice(stub, client, 10 * 60_000);
    // The refresh falls in its window: at most 60 s + a tenth of the lifetime before expiry.
    const { refreshAt } = await snapshot(stub);
    expect(refreshAt).toBeGreaterThanOrEqual(expiresAt - 60_000 - 60_000);
    expect(refreshAt).toBeLessThanOrEqual(expiresAt - 60_000);
    await advance(stub, refreshAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const refresh = await client.nextTokenRequest(1);
    expect(refresh).toMatchObject({ attempt: 1, expiresAt });
    expect(client.lastState()).toMatchObject({ status: "connected", refreshing: true });
    const next = expiresAt + HOUR;
    client.send({ type: "token", requestId: refresh.requestId, token: fakeToken("alice", next) });
    await client.waitFor((c) => c.lastState()?.expiresAt === next && !c.lastState()?.refreshing, "refreshed");
    expect(client.ofType("token_request")).toHaveLength(2);
  });

  it("asks for a new token when the remote says the token expired", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    await connectAlice(stub, client, HOUR);
    await stub.remoteTokenExpired();
    expect((await client.nextTokenRequest(1)).attempt).toBe(1);
  });

  it("user_inactive from the remote is final: disconnected, no alarm", async () => {
    fakeRemoteControls.inactiveUsers.add("alice");
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    const state = await client.waitForStatus("disconnected");
    expect(state).toMatchObject({ error: "user_inactive", reason: "user_inactive" });
    expect((await sessionStorageOf(stub)).alarmAt).toBeUndefined();
  });

  it("a remote outage sends the session to the reconnect schedule", async () => {
    fakeRemoteControls.outage = "refuse";
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    // Reconnect attempt 1 runs at once: a new token request for its cycle.
    const again = await client.nextTokenRequest(1);
    expect(again.attempt).toBe(1);
    expect(client.lastState()).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
  });
});

describe("clients", () => {
  it("several clients of one user get one token request, moved to another client when its holder leaves", async () => {
    const stub = await sessionStub(alice);
    const a = await attach(stub, alice);
    const b = await attach(stub, alice);
    a.send({ type: "connect", userId: "alice" });
    const holder = await Promise.race([a.nextTokenRequest().then(() => a), b.nextTokenRequest().then(() => b)]);
    const other = holder === a ? b : a;
    const request = holder.ofType("token_request")[0]!;
    expect(other.ofType("token_request")).toHaveLength(0);
    holder.close();
    const moved = await other.nextTokenRequest();
    expect(moved).toMatchObject({ requestId: request.requestId, attempt: 1 });
  });

  it("asks the oldest attached client first", async () => {
    const stub = await sessionStub(alice);
    const oldest = await attach(stub, alice);
    const newer = await attach(stub, alice);
    const newest = await attach(stub, alice);
    newest.send({ type: "connect", userId: "alice" });
    expect((await oldest.nextTokenRequest()).attempt).toBe(1);
    expect(newer.ofType("token_request")).toHaveLength(0);
    expect(newest.ofType("token_request")).toHaveLength(0);
  });

  it("answers the keep-alive ping with pong, changing nothing", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    await connectAlice(stub, client, HOUR);
    const before = await snapshot(stub);
    client.sendRaw("ping");
    await client.waitFor((c) => c.raw.includes("pong"), "pong");
    expect(client.ofType("error")).toHaveLength(0);
    expect(await snapshot(stub)).toEqual(before);
  });

  it("late and duplicate answers never connect twice", async () => {
    const stub = await sessionStub(alice);
    const a = await attach(stub, alice);
    a.send({ type: "connect", userId: "alice" });
    const request = await a.nextTokenRequest();
    const token = fakeToken("alice", (await sessionNow(stub)) + HOUR);
    a.send({ type: "token", requestId: request.requestId, token });
    a.send({ type: "token", requestId: request.requestId, token });
    await a.waitForStatus("connected");
    const stale = await a.waitFor((c) => c.ofType("error").find((e) => e.code === "token_request_stale"), "stale error");
    expect(stale.requestId).toBe(request.requestId);
    expect(fakeRemoteControls.opened).toEqual([token]);
  });

  it("the schedule runs with no client attached", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    await client.nextTokenRequest();
    client.close();
    await waitForSnapshot(stub, (s) => s.pendingToken?.clientId === undefined);
    await advance(stub, 15_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const s = await snapshot(stub);
    expect(s.status).toBe("connecting");
    expect(s.nextTokenAttemptAt).toBeDefined();
  });
});

describe("eviction loses nothing", () => {
  it("waiting for a token: the hibernated client answers the same request after eviction", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    await evictDurableObject(stub);
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await client.waitForStatus("connected");
    expect(client.ofType("token_request")).toHaveLength(1);
  });

  it("connected: the state and its duties survive; a connection that is gone (never reported) is found by the liveness check, which reconnects", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    // A token that outlives the 6 h safety check, so the check is the first duty.
    const expiresAt = await connectAlice(stub, client, 100 * HOUR);
    const before = await snapshot(stub);
    const armed = (await storageOf(stub)).alarmAt;
    await evictDurableObject(stub);
    expect(await snapshot(stub)).toMatchObject({ status: "connected", expiresAt, refreshAt: before.refreshAt, livenessCheckAt: before.livenessCheckAt });
    expect(nextDue(before)).toBe(before.livenessCheckAt);
    expect((await storageOf(stub)).alarmAt).toBe(armed);
    expect(client.ofType("token_request")).toHaveLength(1);
    // The fake remote made after the eviction holds no connection (as a connector that lost it without a word).
    await advance(stub, before.livenessCheckAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, lastError: "remote_lost" });
  });

  it("connecting with the remote call lost in flight: the deadline alarm moves on to reconnect", async () => {
    fakeRemoteControls.outage = "hang";
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await waitForSnapshot(stub, (s) => s.pendingRemote !== undefined);
    await evictDurableObject(stub);
    fakeRemoteControls.outage = "none";
    await advance(stub, 15_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Reconnect attempt 1 at once: exactly one new token request.
    const next = await client.nextTokenRequest(1);
    expect(next.attempt).toBe(1);
    expect(client.ofType("token_request")).toHaveLength(2);
  });

  it("reconnecting: the wait survives and the alarm resumes the schedule", async () => {
    fakeRemoteControls.outage = "refuse";
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const r1 = await client.nextTokenRequest();
    client.send({ type: "token", requestId: r1.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    const r2 = await client.nextTokenRequest(1); // reconnect 1's cycle
    client.send({ type: "token", requestId: r2.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    const waiting = await waitForSnapshot(stub, (s) => s.nextReconnectAt !== undefined);
    await evictDurableObject(stub);
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, nextReconnectAt: waiting.nextReconnectAt });
    expect((await storageOf(stub)).alarmAt).toBe(waiting.nextReconnectAt);
    fakeRemoteControls.outage = "none";
    await advance(stub, waiting.nextReconnectAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const r3 = await client.nextTokenRequest(2);
    client.send({ type: "token", requestId: r3.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await client.waitFor((c) => c.lastState()?.status === "connected" && c.lastState()?.reconnectAttempt === 0, "recovered");
    expect(client.ofType("token_request")).toHaveLength(3);
  });
});

describe("disconnect", () => {
  it("clearSavedData: storage and alarm are empty, clients are told", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    await connectAlice(stub, client, HOUR);
    client.send({ type: "disconnect", clearSavedData: true });
    await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    await client.waitForStatus("disconnected");
    expect(await sessionStorageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
  });

  it("without clearing: disconnected, no alarm, the session can connect again", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    await connectAlice(stub, client, HOUR);
    client.send({ type: "disconnect" });
    expect(await client.waitForStatus("disconnected")).toMatchObject({ reason: "requested" });
    expect((await sessionStorageOf(stub)).alarmAt).toBeUndefined();
    client.send({ type: "connect", userId: "alice" });
    expect((await client.nextTokenRequest(1)).attempt).toBe(1);
  });
});

describe("exclusion", () => {
  const link = { kind: "access_link", accessLink: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/call42" } as const;

  it("a token session refuses an access-link connect with session_conflict and changes nothing", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    await connectAlice(stub, client, HOUR);
    const before = await snapshot(stub);
    client.send({ type: "connect", accessLink: link.accessLink });
    const err = await client.waitFor((c) => c.ofType("error")[0], "error");
    expect(err.code).toBe("session_conflict");
    expect(await snapshot(stub)).toEqual(before);
  });

  it("an access-link session refuses a token connect with session_conflict", async () => {
    const stub = await sessionStub(link);
    const client = await attach(stub, link);
    client.send({ type: "connect", accessLink: link.accessLink });
    await client.waitFor((c) => c.lastState()?.status === "connected" && c.lastState(), "link connected");
    expect(client.lastState()).toMatchObject({ mode: "access_link", userId: "guest-call42" });
    expect(client.ofType("token_request")).toHaveLength(0);
    const before = await snapshot(stub);
    client.send({ type: "connect", userId: "bob" });
    const err = await client.waitFor((c) => c.ofType("error")[0], "error");
    expect(err.code).toBe("session_conflict");
    expect(await snapshot(stub)).toEqual(before);
  });
});

describe("bad frames get an error frame and change nothing", () => {
  const cases: [string, string | ArrayBuffer, string][] = [
    ["malformed JSON", "{not json", "malformed_json"],
    ["an unknown type", JSON.stringify({ type: "launch" }), "unknown_type"],
    ["a wrong field type", JSON.stringify({ type: "connect", userId: 42 }), "invalid_frame"],
    ["a binary frame", new Uint8Array([1, 2, 3]).buffer, "invalid_frame"],
  ];
  for (const [name, frame, code] of cases) {
    it(`${name} -> ${code}`, async () => {
      const stub = await sessionStub(alice);
      const client = await attach(stub, alice);
      await connectAlice(stub, client, HOUR);
      const before = await snapshot(stub);
      client.sendRaw(frame);
      const err = await client.waitFor((c) => c.ofType("error")[0], "error frame");
      expect(err.code).toBe(code);
      expect(await snapshot(stub)).toEqual(before);
      expect(client.closed).toBe(false);
    });
  }
});

describe("an oversized frame", () => {
  it("gets frame_too_large and closes only that socket (1009), changing nothing", async () => {
    const stub = await sessionStub(alice);
    const sender = await attach(stub, alice);
    await connectAlice(stub, sender, HOUR);
    const other = await attach(stub, alice);
    const before = await snapshot(stub);
    let closeCode = 0;
    sender.ws.addEventListener("close", (e) => {
      closeCode = e.code;
    });
    sender.sendRaw(JSON.stringify({ type: "connect", userId: "a".repeat(20_000) }));
    const err = await sender.waitFor((c) => c.ofType("error")[0], "error frame");
    expect(err.code).toBe("frame_too_large");
    await sender.waitFor((c) => c.closed, "close");
    expect(closeCode).toBe(1009);
    expect(other.closed).toBe(false);
    expect(await snapshot(stub)).toEqual(before);
  });
});

async function connectAlice(stub: Awaited<ReturnType<typeof sessionStub>>, client: Awaited<ReturnType<typeof attach>>, lifetimeMs: number): Promise<number> {
  client.send({ type: "connect", userId: "alice" });
  const request = await client.nextTokenRequest();
  const expiresAt = (await sessionNow(stub)) + lifetimeMs;
  client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", expiresAt) });
  await client.waitForStatus("connected");
  return expiresAt;
}
