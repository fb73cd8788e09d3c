/**
 * The first connect is a connect like any other (issue 17), through the session object: the proof
 * session runs the seed's schedule on its one alarm, on the prover's one socket, with the session
 * clock moved by the test (TEST_CLOCK) and the alarm fired by runDurableObjectAlarm. The prover
 * sees its own proof's states; a final answer ends it at once; joining a connected session with a
 * token opens no second Kaleyra connection.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { AppSettings } from "../core/app";
import type { RetryPolicy } from "../core/policy";
import { PROOF_DEADLINE_MS } from "../core/attach";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { advance, attach, openSocket, SANDBOX_EU, sessionNow, sessionStub, snapshot, storageOf, waitForSnapshot, type SessionStub, type TestClient } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const HOUR = 3_600_000;
const SCALED: RetryPolicy = { tokenAttemptDelaysMs: [0, 100, 400], tokenAttemptTimeoutMs: 1_500, reconnectDelaysMs: [0, 300, 900, 2_700, 6_000, 12_000], reconnectSteadyDelayMs: 6_000, jitterMaxMs: 200 };
const WITH_SERVER_TOKENS: AppSettings = { ...SANDBOX_EU, serverTokens: { source: "kaleyra_api", order: "first" } };

afterEach(() => fakeRemoteControls.reset());

/** Moves the session clock to `at` (never back) and fires the alarm. */
async function fireAt(stub: SessionStub, at: number): Promise<void> {
  const now = await sessionNow(stub);
  if (at > now) await advance(stub, at - now);
  await runDurableObjectAlarm(stub);
}

/** A socket that asks to be asked for its token: no session runs, so it starts the proof. */
async function prover(app: AppSettings = SANDBOX_EU) {
  const stub = await sessionStub(alice);
  const ws = await openSocket(stub, alice, app);
  ws.send({ type: "auth", askToken: true });
  return { stub, ws };
}

/** The n-th token request and the session time its attempt started (its deadline minus the attempt timeout). */
async function request(stub: SessionStub, ws: TestClient, n: number, timeoutMs: number) {
  const r = await ws.nextTokenRequest(n);
  const s = await waitForSnapshot(stub, (x) => x.pendingToken?.requestId === r.requestId, `request ${n + 1} pending`);
  return { ...r, startedAt: s.pendingToken!.deadline - timeoutMs };
}

describe("a first connect whose provider fails: the seed's token retry, then the reconnect schedule, in the object", () => {
  it.each([
    ["the seed's policy", SANDBOX_EU, 15_000, [1_000, 4_000], [0, 3_000], 2_000],
    ["a scaled app retryPolicy", { ...SANDBOX_EU, retryPolicy: SCALED }, 1_500, [100, 400], [0, 300], 200],
  ] as const)("under %s: attempts 2 and 3 wait their delays + jitter after a failure; reconnect 1 at once, reconnect 2 after its delay + jitter", async (_, app, timeout, tokenDelays, reconnectDelays, jitter) => {
    const { stub, ws } = await prover(app);
    const started: { attempt: number; at: number; after: number }[] = [];
    let endedAt = 0;
    for (let i = 0; i < 6; i++) {
      const r = await request(stub, ws, i, timeout);
      started.push({ attempt: r.attempt, at: r.startedAt, after: r.startedAt - endedAt });
      endedAt = await sessionNow(stub);
      ws.send({ type: "token_failed", requestId: r.requestId });
      const s = await waitForSnapshot(stub, (x) => x.pendingToken?.requestId !== r.requestId, "the failure taken");
      const next = s.nextTokenAttemptAt ?? s.nextReconnectAt;
      if (next !== undefined && i < 5) await fireAt(stub, next);
    }
    expect(started.map((s) => s.attempt)).toEqual([1, 2, 3, 1, 2, 3]);
    const [a2, a3] = [started[1]!.after, started[2]!.after];
    expect(a2).toBeGreaterThanOrEqual(tokenDelays[0]);
    expect(a2).toBeLessThanOrEqual(tokenDelays[0] + jitter + 50);
    expect(a3).toBeGreaterThanOrEqual(tokenDelays[1]);
    expect(a3).toBeLessThanOrEqual(tokenDelays[1] + jitter + 50);
    expect(started[3]!.after).toBeLessThanOrEqual(reconnectDelays[0] + 50); // reconnect 1: at once
    // The prover saw every step of its own proof, counted like a running session.
    const last = ws.ofType("state").at(-1)!;
    expect(last).toMatchObject({ proof: true, state: { status: "reconnecting", reconnectAttempt: 1, lastError: "token_failed" } });
    // Reconnect 2 is due its delay + jitter after reconnect 1's cycle failed.
    const s = await snapshot(stub);
    expect(s.nextReconnectAt! - endedAt).toBeGreaterThanOrEqual(reconnectDelays[1]);
    expect(s.nextReconnectAt! - endedAt).toBeLessThanOrEqual(reconnectDelays[1] + jitter + 50);
    expect(fakeRemoteControls.opened).toEqual([]); // no token, no CONNECT
  });
});

describe("a first connect whose provider never answers", () => {
  it("each attempt times out after the app's tokenAttemptTimeoutMs (15 s), attempts 2 and 3 follow at 1 s and 4 s + jitter, then reconnect 1; the 30 s proof deadline never closes the prover", async () => {
    const { stub, ws } = await prover();
    const first = await request(stub, ws, 0, 15_000);
    await fireAt(stub, first.startedAt + 15_000);
    const afterTimeout = await snapshot(stub);
    expect(afterTimeout).toMatchObject({ lastError: "token_timeout", tokenAttempt: 1 });
    expect(afterTimeout.nextTokenAttemptAt! - (first.startedAt + 15_000)).toBeGreaterThanOrEqual(1_000);
    expect(afterTimeout.nextTokenAttemptAt! - (first.startedAt + 15_000)).toBeLessThanOrEqual(3_000);
    await fireAt(stub, afterTimeout.nextTokenAttemptAt!);
    const second = await request(stub, ws, 1, 15_000);
    expect(second).toMatchObject({ attempt: 2, startedAt: afterTimeout.nextTokenAttemptAt });
    await fireAt(stub, second.startedAt + 15_000);
    const third = await fireAt(stub, (await snapshot(stub)).nextTokenAttemptAt!).then(() => request(stub, ws, 2, 15_000));
    expect(third.attempt).toBe(3);
    await fireAt(stub, third.startedAt + 15_000);
    const reconnect = await request(stub, ws, 3, 15_000);
    expect(reconnect).toMatchObject({ attempt: 1, startedAt: third.startedAt + 15_000 });
    expect((await sessionNow(stub)) - first.startedAt).toBeGreaterThan(PROOF_DEADLINE_MS);
    expect(ws.closed).toBe(false);
    expect(ws.ofType("error")).toEqual([]);
    expect(ws.lastState()).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 1, lastError: "token_timeout" });
  });
});

describe("before proof: no slot, no server-side source, nothing for anyone else", () => {
  it("the app's server-side source is never asked while the proof runs, however long", async () => {
    const { stub, ws } = await prover(WITH_SERVER_TOKENS);
    for (let i = 0; i < 4; i++) {
      const r = await request(stub, ws, i, 15_000);
      ws.send({ type: "token_failed", requestId: r.requestId });
      const s = await waitForSnapshot(stub, (x) => x.pendingToken?.requestId !== r.requestId, "the failure taken");
      await fireAt(stub, (s.nextTokenAttemptAt ?? s.nextReconnectAt)!);
    }
    expect(fakeRemoteControls.minted).toEqual([]);
    expect((await storageOf(stub)).keys).not.toContain("route");
  });

  it("another socket of the user learns nothing of the proof", async () => {
    const { stub, ws } = await prover();
    const other = await openSocket(stub, alice);
    await request(stub, ws, 0, 15_000);
    expect(other.frames).toEqual([{ type: "auth_required", modes: ["token", "resume", "ticket"] }]);
  });
});

describe("final answers end a first connect at once, with their reason", () => {
  it.each([
    ["unsupported_version", { error: "unsupported_version", reason: "unsupported_version" }],
    ["user_inactive", { error: "user_inactive", reason: "user_inactive" }],
  ] as const)("Kaleyra answering the first CONNECT %s: the prover is shown disconnected with it; no retry, nothing due, nothing stored", async (refusal, ended) => {
    fakeRemoteControls.refuseOpen = refusal;
    const stub = await sessionStub(alice);
    const ws = await openSocket(stub, alice);
    ws.send({ type: "auth", token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    expect(await ws.waitFor((c) => c.lastState()?.status === "disconnected" && c.ofType("state").at(-1), "the end")).toEqual({ type: "state", proof: true, state: expect.objectContaining(ended) });
    expect(fakeRemoteControls.opened).toHaveLength(1);
    expect((await snapshot(stub)).status).toBe("disconnected");
    const stored = await storageOf(stub);
    expect(stored.keys).not.toContain("route");
    expect(stored.alarmAt === undefined || stored.alarmAt > (await sessionNow(stub)) + 10_000).toBe(true); // only the socket's proof deadline
  });

  it("user_not_found is a failed attempt, said under its name", async () => {
    fakeRemoteControls.refuseOpen = "user_not_found";
    const stub = await sessionStub(alice);
    const ws = await openSocket(stub, alice);
    ws.send({ type: "auth", token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    expect(await ws.waitFor((c) => c.lastState()?.lastError && c.lastState(), "the failure")).toMatchObject({ status: "connecting", tokenAttempt: 1, lastError: "user_not_found" });
    expect((await snapshot(stub)).nextTokenAttemptAt).toBeDefined();
  });
});

describe("joining a running session with a token", () => {
  async function connectedSession() {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    owner.send({ type: "connect", userId: "alice" });
    const r = await owner.nextTokenRequest();
    owner.send({ type: "token", requestId: r.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await owner.waitForStatus("connected");
    return { stub, owner };
  }

  it("connected: the token goes to Kaleyra as an update on the live connection (no second CONNECT), proves the device and refreshes the session", async () => {
    const { stub } = await connectedSession();
    const opens = fakeRemoteControls.opened.length;
    const joiner = await openSocket(stub, alice);
    joiner.send({ type: "auth", askToken: true });
    const r = await joiner.nextTokenRequest();
    const token = fakeToken("alice", (await sessionNow(stub)) + 2 * HOUR);
    joiner.send({ type: "token", requestId: r.requestId, token });
    expect(await joiner.waitForStatus("connected")).toMatchObject({ userId: "alice" });
    expect(fakeRemoteControls.opened.length).toBe(opens);
    expect(fakeRemoteControls.updated).toEqual([token]);
    expect((await snapshot(stub)).expiresAt).toBe(Number(token.split(":")[2]));
  });

  it("a joiner whose provider never answers its check's request fails that check at its proof deadline (auth_failed: its client tries again); the session goes on", async () => {
    const { stub } = await connectedSession();
    const joiner = await openSocket(stub, alice);
    joiner.send({ type: "auth", askToken: true });
    await joiner.nextTokenRequest();
    await advance(stub, PROOF_DEADLINE_MS);
    await runDurableObjectAlarm(stub);
    await joiner.waitFor((c) => c.closed, "closed");
    expect(joiner.ofType("error")).toMatchObject([{ code: "auth_failed" }]);
    expect((await snapshot(stub)).status).toBe("connected");
  });

  it("another user's token is refused before anything goes to Kaleyra", async () => {
    const { stub } = await connectedSession();
    const opens = fakeRemoteControls.opened.length;
    const joiner = await openSocket(stub, alice);
    joiner.send({ type: "auth", token: fakeToken("mallory", (await sessionNow(stub)) + HOUR) });
    expect(await joiner.waitFor((c) => c.ofType("error")[0], "refused")).toMatchObject({ code: "auth_failed", field: "token" });
    expect(fakeRemoteControls.updated).toEqual([]);
    expect(fakeRemoteControls.opened.length).toBe(opens);
  });
});
