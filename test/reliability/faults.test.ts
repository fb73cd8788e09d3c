/**
 * Fault matrix, with the in-process fake remote (REMOTE=fake): token providers that fail, hang or
 * answer garbage; clients that drop or race; late answers; alarms delivered more than once or
 * failing; a remote that throws. docs/reliability.md lists every row with its expected outcome.
 * The same faults against the emulator are in test/e2e/faults.test.ts.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_RETRY_POLICY } from "../../core/policy";
import type { UserSession } from "../worker";
import { fakeRemoteControls, fakeToken } from "../fake-remote";
import type { KaleyraRemote } from "../../core/port";
import { advance, attach, sessionNow, sessionStorageOf, sessionStub, snapshot, storageOf, type SessionStub, type TestClient } from "../harness";
import { connects, fingerprint, fireAt, redeliverAlarm, settle, tokenRequests, waitForSnapshot } from "./helpers";

const alice = { kind: "token", userId: "alice" } as const;
const link = { kind: "access_link", accessLink: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/callFault1" } as const;
const HOUR = 3_600_000;
const { jitterMaxMs: JITTER } = DEFAULT_RETRY_POLICY;

afterEach(() => fakeRemoteControls.reset());

async function connecting(): Promise<{ stub: SessionStub; client: TestClient }> {
  const stub = await sessionStub(alice);
  const client = await attach(stub, alice);
  client.send({ type: "connect", userId: "alice" });
  await client.nextTokenRequest();
  return { stub, client };
}

async function connected(lifetimeMs = HOUR): Promise<{ stub: SessionStub; client: TestClient; expiresAt: number }> {
  const { stub, client } = await connecting();
  const expiresAt = (await sessionNow(stub)) + lifetimeMs;
  client.send({ type: "token", requestId: client.ofType("token_request")[0]!.requestId, token: fakeToken("alice", expiresAt) });
  await client.waitForStatus("connected");
  return { stub, client, expiresAt };
}

/** Sends token_failed for request `n` and returns the retry wait the session chose, counted from the failure. */
async function failRequest(stub: SessionStub, client: TestClient, n: number): Promise<{ before: number; after: number; next: number }> {
  const request = await client.nextTokenRequest(n);
  const before = await sessionNow(stub);
  client.send({ type: "token_failed", requestId: request.requestId, reason: "provider threw" });
  const s = await waitForSnapshot(stub, (x) => x.pendingToken === undefined, "the attempt to fail");
  return { before, after: await sessionNow(stub), next: s.nextTokenAttemptAt ?? s.nextReconnectAt ?? Number.NaN };
}

describe("token provider faults", () => {
  it("provider throws (token_failed): the attempt fails at once, attempts 2 and 3 follow 1 s and 4 s (+ jitter) after each failure, then the reconnect schedule", async () => {
    const { stub, client } = await connecting();
    const f1 = await failRequest(stub, client, 0);
    expect(f1.next).toBeGreaterThanOrEqual(f1.before + 1_000);
    expect(f1.next).toBeLessThanOrEqual(f1.after + 1_000 + JITTER);
    expect(tokenRequests(client)).toHaveLength(1); // nothing is asked again during the wait
    await fireAt(stub, f1.next);
    expect((await client.nextTokenRequest(1)).attempt).toBe(2);
    const f2 = await failRequest(stub, client, 1);
    expect(f2.next).toBeGreaterThanOrEqual(f2.before + 4_000);
    expect(f2.next).toBeLessThanOrEqual(f2.after + 4_000 + JITTER);
    await fireAt(stub, f2.next);
    const third = await client.nextTokenRequest(2);
    expect(third.attempt).toBe(3);
    client.send({ type: "token_failed", requestId: third.requestId });
    // Cycle spent: reconnect attempt 1 runs at once, with a fresh token cycle.
    const r1 = await client.nextTokenRequest(3);
    expect(r1.attempt).toBe(1);
    expect(await client.waitFor((c) => c.lastState()?.reconnectAttempt === 1 && c.lastState(), "reconnect 1")).toMatchObject({ status: "reconnecting", tokenAttempt: 1 });
    expect(tokenRequests(client)).toHaveLength(4);
    expect(fakeRemoteControls.opened).toEqual([]);
  });

  it("provider hangs past the attempt timeout: the attempt fails at its deadline and the retry waits 1 s + jitter from the deadline; the late answer is stale", async () => {
    const { stub, client } = await connecting();
    const request = client.ofType("token_request")[0]!;
    const { deadline } = (await snapshot(stub)).pendingToken!;
    await fireAt(stub, deadline);
    const s = await snapshot(stub);
    expect(s.pendingToken).toBeUndefined();
    expect(s.nextTokenAttemptAt! - deadline).toBeGreaterThanOrEqual(1_000);
    expect(s.nextTokenAttemptAt! - deadline).toBeLessThanOrEqual(1_000 + JITTER);
    expect((await storageOf(stub)).alarmAt).toBe(s.nextTokenAttemptAt);
    const before = await fingerprint(stub);
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    const stale = await client.waitFor((c) => c.ofType("error").find((e) => e.code === "token_request_stale"), "stale");
    expect(stale.requestId).toBe(request.requestId);
    expect(fakeRemoteControls.opened).toEqual([]);
    expect(await fingerprint(stub)).toBe(before);
  });

  it("provider returns an empty or non-string token: refused with invalid_frame (field token), nothing changes, and the attempt then times out", async () => {
    const { stub, client } = await connecting();
    const { requestId } = client.ofType("token_request")[0]!;
    const before = await fingerprint(stub);
    const bad: unknown[] = ["", 42, null, {}, ["tok"], "tok en", "x".repeat(8_193)];
    for (const [i, token] of bad.entries()) {
      client.send({ type: "token", requestId, token });
      const err = await client.waitFor((c) => c.ofType("error")[i], `error for ${JSON.stringify(token).slice(0, 20)}`);
      expect(err).toMatchObject({ code: "invalid_frame", field: "token" });
    }
    client.send({ type: "token", requestId });
    expect(await client.waitFor((c) => c.ofType("error")[bad.length], "missing token")).toMatchObject({ code: "invalid_frame", field: "token" });
    expect(await fingerprint(stub)).toBe(before);
    expect(fakeRemoteControls.opened).toEqual([]);
    const { deadline } = (await snapshot(stub)).pendingToken!;
    await fireAt(stub, deadline);
    expect(await snapshot(stub)).toMatchObject({ status: "connecting", tokenAttempt: 1, pendingToken: undefined, nextTokenAttemptAt: expect.any(Number) });
  });

  it("provider returns a token of another user: the remote opens it as that user, the attempt fails (token_invalid) and the next attempt follows; never connected", async () => {
    const { stub, client } = await connecting();
    const { requestId } = client.ofType("token_request")[0]!;
    client.send({ type: "token", requestId, token: fakeToken("bob", (await sessionNow(stub)) + HOUR) });
    const s = await waitForSnapshot(stub, (x) => x.nextTokenAttemptAt !== undefined, "attempt 1 failed");
    expect(s).toMatchObject({ status: "connecting", tokenAttempt: 1, reconnectAttempt: 0, userId: "alice" });
    expect(fakeRemoteControls.opened).toHaveLength(1);
    expect(connects(client)).toBe(0);
    await fireAt(stub, s.nextTokenAttemptAt!);
    expect((await client.nextTokenRequest(1)).attempt).toBe(2);
  });
});

describe("clients drop and race", () => {
  it("a client drops mid-request: the same request (id, attempt, deadline) moves to another client; with none attached it waits and goes to the next client that attaches", async () => {
    const stub = await sessionStub(alice);
    const a = await attach(stub, alice);
    const b = await attach(stub, alice);
    a.send({ type: "connect", userId: "alice" });
    const holder = await Promise.race([a.nextTokenRequest().then(() => a), b.nextTokenRequest().then(() => b)]);
    const other = holder === a ? b : a;
    const request = holder.ofType("token_request")[0]!;
    const { deadline } = (await snapshot(stub)).pendingToken!;
    holder.close();
    expect(await other.nextTokenRequest()).toMatchObject({ requestId: request.requestId, attempt: 1 });
    other.close();
    const waiting = await waitForSnapshot(stub, (s) => s.pendingToken !== undefined && s.pendingToken.clientId === undefined, "the request to wait for a client");
    expect(waiting.pendingToken).toMatchObject({ requestId: request.requestId, attempt: 1, deadline });
    const c = await attach(stub, alice);
    expect(await c.nextTokenRequest()).toMatchObject({ requestId: request.requestId, attempt: 1 });
    c.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await c.waitForStatus("connected");
    expect(fakeRemoteControls.opened).toHaveLength(1);
  });

  it("with no client attached, the waiting request still times out on its original deadline", async () => {
    const { stub, client } = await connecting();
    const { deadline } = (await snapshot(stub)).pendingToken!;
    client.close();
    await waitForSnapshot(stub, (s) => s.pendingToken?.clientId === undefined, "the request to wait");
    await fireAt(stub, deadline);
    const s = await snapshot(stub);
    expect(s).toMatchObject({ status: "connecting", tokenAttempt: 1, pendingToken: undefined });
    expect(s.nextTokenAttemptAt! - deadline).toBeGreaterThanOrEqual(1_000);
  });

  it("two clients answer the same request: one remote open, one connect; the second answer gets token_request_stale", async () => {
    const stub = await sessionStub(alice);
    const a = await attach(stub, alice);
    const b = await attach(stub, alice);
    a.send({ type: "connect", userId: "alice" });
    const holder = await Promise.race([a.nextTokenRequest().then(() => a), b.nextTokenRequest().then(() => b)]);
    const { requestId } = holder.ofType("token_request")[0]!;
    const token = fakeToken("alice", (await sessionNow(stub)) + HOUR);
    // A token from any client wins: the client that was not asked answers too (a shared provider).
    a.send({ type: "token", requestId, token });
    b.send({ type: "token", requestId, token });
    await a.waitForStatus("connected");
    await b.waitForStatus("connected");
    const stale = await Promise.race([
      a.waitFor((c) => c.ofType("error").find((e) => e.code === "token_request_stale"), "stale on a", 1_000).catch(() => undefined),
      b.waitFor((c) => c.ofType("error").find((e) => e.code === "token_request_stale"), "stale on b", 1_000).catch(() => undefined),
    ]);
    expect(stale?.requestId).toBe(requestId);
    await settle();
    expect(fakeRemoteControls.opened).toEqual([token]);
    expect([connects(a), connects(b)]).toEqual([1, 1]);
    expect([...a.ofType("error"), ...b.ofType("error")].filter((e) => e.code === "token_request_stale")).toHaveLength(1);
  });

  it("late answers get token_request_stale and change nothing: after a newer attempt started, from an earlier session, and a failure from a client that does not hold the request", async () => {
    const stub = await sessionStub(alice);
    const a = await attach(stub, alice);
    a.send({ type: "connect", userId: "alice" });
    const first = await a.nextTokenRequest();
    await fireAt(stub, (await snapshot(stub)).pendingToken!.deadline);
    await fireAt(stub, (await snapshot(stub)).nextTokenAttemptAt!);
    const second = await a.nextTokenRequest(1);
    // An answer to attempt 1 while attempt 2 is pending.
    let before = await fingerprint(stub);
    a.send({ type: "token", requestId: first.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    expect(await a.waitFor((c) => c.ofType("error")[0], "stale 1")).toMatchObject({ code: "token_request_stale", requestId: first.requestId });
    expect(await fingerprint(stub)).toBe(before);
    // A failure from a second client that does not hold attempt 2: the attempt goes on.
    const b = await attach(stub, alice);
    before = await fingerprint(stub);
    b.send({ type: "token_failed", requestId: second.requestId });
    expect(await b.waitFor((c) => c.ofType("error")[0], "stale 2")).toMatchObject({ code: "token_request_stale", requestId: second.requestId });
    expect((await snapshot(stub)).pendingToken?.requestId).toBe(second.requestId);
    // An answer from an earlier session: disconnect, connect again, answer the old id.
    a.send({ type: "disconnect" });
    await a.waitForStatus("disconnected");
    a.send({ type: "connect", userId: "alice" });
    await waitForSnapshot(stub, (s) => s.status === "connecting" && s.pendingToken !== undefined, "a new session");
    before = await fingerprint(stub);
    a.send({ type: "token", requestId: second.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await a.waitFor((c) => c.ofType("error").find((e) => e.requestId === second.requestId), "stale 3");
    expect(await fingerprint(stub)).toBe(before);
    expect(fakeRemoteControls.opened).toEqual([]);
  });
});

describe("alarms are at-least-once: every duty is idempotent", () => {
  /** Runs the due alarm once, then delivers it twice more; the second and third change and send nothing. */
  async function dutyRunsOnce(stub: SessionStub, clients: TestClient[], due: number) {
    await fireAt(stub, due);
    await settle();
    const sent = clients.map((c) => c.frames.length);
    const after = await fingerprint(stub);
    await redeliverAlarm(stub); // the runtime retrying the same alarm
    await runDurableObjectAlarm(stub); // an early delivery of the next one, if one is armed
    await settle();
    expect(await fingerprint(stub)).toBe(after);
    expect(clients.map((c) => c.frames.length)).toEqual(sent);
  }

  it("token attempt timeout", async () => {
    const { stub, client } = await connecting();
    await dutyRunsOnce(stub, [client], (await snapshot(stub)).pendingToken!.deadline);
    expect(tokenRequests(client)).toHaveLength(1);
  });

  it("token retry start", async () => {
    const { stub, client } = await connecting();
    const { next } = await failRequest(stub, client, 0);
    await dutyRunsOnce(stub, [client], next);
    expect(tokenRequests(client).map((r) => r.attempt)).toEqual([1, 2]);
  });

  it("reconnect attempt start", async () => {
    fakeRemoteControls.outage = "refuse";
    const { stub, client } = await connecting();
    for (let n = 0; n < 2; n++) {
      const r = await client.nextTokenRequest(n);
      client.send({ type: "token", requestId: r.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    }
    const s = await waitForSnapshot(stub, (x) => x.nextReconnectAt !== undefined, "a reconnect wait");
    await dutyRunsOnce(stub, [client], s.nextReconnectAt!);
    expect(tokenRequests(client)).toHaveLength(3);
    expect(await snapshot(stub)).toMatchObject({ reconnectAttempt: 2 });
  });

  it("refresh before expiry", async () => {
    const { stub, client, expiresAt } = await connected(10 * 60_000);
    await dutyRunsOnce(stub, [client], (await snapshot(stub)).refreshAt!);
    expect(tokenRequests(client).map((r) => r.expiresAt)).toEqual([undefined, expiresAt]);
  });

  it("remote open deadline (the remote hangs)", async () => {
    fakeRemoteControls.outage = "hang";
    const { stub, client } = await connecting();
    client.send({ type: "token", requestId: client.ofType("token_request")[0]!.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    const s = await waitForSnapshot(stub, (x) => x.pendingRemote !== undefined, "the open in flight");
    await dutyRunsOnce(stub, [client], s.pendingRemote!.deadline);
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    expect(tokenRequests(client)).toHaveLength(2);
    expect(fakeRemoteControls.opened).toHaveLength(1);
  });

  it("disconnect close deadline", async () => {
    const { stub, client } = await connected();
    await runInDurableObject(stub, (o: UserSession) => {
      // A remote whose close never answers: the close deadline ends the disconnect.
      o.testRemote.override(() => ({ closeSession: () => new Promise<void>(() => {}) }));
    });
    client.send({ type: "disconnect" });
    const s = await waitForSnapshot(stub, (x) => x.status === "disconnecting", "disconnecting");
    await dutyRunsOnce(stub, [client], s.pendingRemote!.deadline);
    expect(await snapshot(stub)).toMatchObject({ status: "disconnected", reason: "requested" });
    expect((await sessionStorageOf(stub)).alarmAt).toBeUndefined();
  });

  it("an alarm that throws after its duty ran (setAlarm failed) is retried: the retry sends nothing twice and re-arms the alarm", async () => {
    const { stub, client } = await connecting();
    const { deadline } = (await snapshot(stub)).pendingToken!;
    await runInDurableObject(stub, (_o: UserSession, state) => {
      const storage = state.storage as unknown as { setAlarm: (...args: unknown[]) => Promise<void> };
      const original = storage.setAlarm;
      storage.setAlarm = async () => {
        storage.setAlarm = original;
        throw new Error("injected: setAlarm failed");
      };
    });
    await advance(stub, deadline - (await sessionNow(stub)));
    await expect(runDurableObjectAlarm(stub)).rejects.toThrow(/injected/);
    // The duty ran and its state is stored, but no alarm is armed for the next one.
    const s = await snapshot(stub);
    expect(s).toMatchObject({ pendingToken: undefined, nextTokenAttemptAt: expect.any(Number) });
    expect((await storageOf(stub)).alarmAt).toBeUndefined();
    // The runtime retries a failed alarm: the retry finds nothing due and re-arms the next duty.
    await redeliverAlarm(stub);
    expect((await storageOf(stub)).alarmAt).toBe(s.nextTokenAttemptAt);
    expect(await snapshot(stub)).toEqual(s);
    expect(tokenRequests(client)).toHaveLength(1);
    await fireAt(stub, s.nextTokenAttemptAt!);
    expect((await client.nextTokenRequest(1)).attempt).toBe(2);
  });
});

describe("a remote that throws", () => {
  const throwing = (how: "sync" | "async"): Pick<KaleyraRemote, "openSession"> => ({
    openSession: () => {
      if (how === "sync") throw new Error("injected: remote threw");
      return Promise.reject(new Error("injected: remote rejected"));
    },
  });
  // The session logs each failed open: keep the injected failures out of the run's output, and
  // check they were logged (and nothing else was).
  let warned: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warned = vi.spyOn(console, "warn").mockImplementation(() => {});
  });
  afterEach(() => {
    expect(warned.mock.calls.length).toBeGreaterThan(0);
    for (const [message, detail] of warned.mock.calls) {
      expect(message).toBe("remote open failed");
      expect(String((detail as { error?: unknown }).error)).toMatch(/^Error: injected: remote (threw|rejected)$/);
    }
    warned.mockRestore();
  });

  it.each(["sync", "async"] as const)("a token open that throws (%s) counts as unreachable: the reconnect schedule runs, nothing is stuck", async (how) => {
    const { stub, client } = await connecting();
    await runInDurableObject(stub, (o: UserSession) => {
      o.testRemote.override(() => throwing(how));
    });
    client.send({ type: "token", requestId: client.ofType("token_request")[0]!.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    expect((await client.nextTokenRequest(1)).attempt).toBe(1);
    expect(await snapshot(stub)).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, pendingToken: expect.any(Object) });
    expect((await storageOf(stub)).alarmAt).toBe((await snapshot(stub)).pendingToken!.deadline);
  });

  it("an alarm-driven reconnect of an access-link session whose open throws moves to the next reconnect wait, alarm armed", async () => {
    fakeRemoteControls.outage = "refuse";
    const stub = await sessionStub(link);
    const client = await attach(stub, link);
    client.send({ type: "connect", accessLink: link.accessLink });
    const waiting = await waitForSnapshot(stub, (s) => s.nextReconnectAt !== undefined && s.reconnectAttempt === 1, "reconnect 1 failed");
    await runInDurableObject(stub, (o: UserSession) => {
      o.testRemote.override(() => throwing("sync"));
    });
    await fireAt(stub, waiting.nextReconnectAt!);
    const next = await waitForSnapshot(stub, (s) => s.reconnectAttempt === 2 && s.nextReconnectAt !== undefined, "reconnect 2 failed");
    expect(next.status).toBe("reconnecting");
    expect((await storageOf(stub)).alarmAt).toBe(next.nextReconnectAt);
    fakeRemoteControls.outage = "none";
    await runInDurableObject(stub, (o: UserSession) => {
      o.testRemote.renew();
    });
    await fireAt(stub, next.nextReconnectAt!);
    await client.waitFor((c) => c.lastState()?.status === "connected" && c.lastState(), "recovered");
  });
});

describe("duplicated remote notices", () => {
  it("the remote saying the token expired five times while a refresh runs starts one refresh", async () => {
    const { stub, client } = await connected();
    for (let i = 0; i < 5; i++) await stub.remoteTokenExpired();
    await settle();
    expect(tokenRequests(client)).toHaveLength(2);
    expect(await snapshot(stub)).toMatchObject({ status: "connected", refreshing: true, tokenAttempt: 1 });
  });

  it("deactivation delivered twice: the second changes and sends nothing", async () => {
    const { stub, client } = await connected();
    await stub.userDeactivated();
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "user_inactive" });
    await settle();
    const before = await fingerprint(stub);
    const frames = client.frames.length;
    await stub.userDeactivated();
    await settle();
    expect(await fingerprint(stub)).toBe(before);
    expect(client.frames.length).toBe(frames);
  });

  it("call ended delivered twice to an access-link session: data is cleared once, the second changes and sends nothing", async () => {
    const stub = await sessionStub(link);
    const client = await attach(stub, link);
    client.send({ type: "connect", accessLink: link.accessLink });
    await client.waitForStatus("connected");
    await stub.callEnded();
    await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    await settle();
    const frames = client.frames.length;
    await stub.callEnded();
    await settle();
    expect(await storageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
    expect(client.frames.length).toBe(frames);
  });
});
