/**
 * The seed's infinite reconnect: the first attempt at once, then after 3, 9, 27, 60, 120 s, then
 * every 60 s, each wait + a fresh jitter, counted from the end of the previous attempt; every
 * attempt runs a fresh token cycle; a successful connection resets both counters.
 * Plus catch-up: a late alarm runs every due duty at its own due time.
 */
import { describe, expect, it } from "vitest";
import { nextDue, view } from "./session";
import { connectToken, Driver, NONCE, one, seq } from "./testing";

const T0 = 1_000_000;

/** Fails the pending token attempt with an answer at `now`; returns the effects. */
function failNow(d: Driver, now: number) {
  return d.send(now, { type: "token_failure", clientId: "tab", requestId: d.requestId });
}

/**
 * Runs one token cycle in which each attempt is failed by an answer the instant it is asked, and
 * the token jitters are 0: attempts at start, +1 s, +5 s; the cycle ends at start + 5 s.
 */
function failCycleAt(d: Driver, start: number): void {
  expect(d.state.pendingToken).toMatchObject({ attempt: 1, deadline: start + 15_000 });
  failNow(d, start);
  expect(d.state.nextTokenAttemptAt).toBe(start + 1_000);
  d.alarm(start + 1_000);
  failNow(d, start + 1_000);
  expect(d.state.nextTokenAttemptAt).toBe(start + 5_000);
  d.alarm(start + 5_000);
  failNow(d, start + 5_000);
}

describe("the reconnect schedule", () => {
  it("starts reconnects 1..9 at once, then 3, 9, 27, 60, 120, 60, 60, 60 s (+ fresh jitter) after the previous attempt ended", () => {
    // Token jitters are 0; reconnect jitters are 0.1 .. 0.8 (200 .. 1600 ms), one fresh draw per wait.
    const random = seq(
      NONCE,
      0, 0, // connect's cycle; reconnect 1 has no wait and draws nothing
      0, 0, 0.1, // reconnect 1's cycle, then the wait before reconnect 2
      0, 0, 0.2,
      0, 0, 0.3,
      0, 0, 0.4,
      0, 0, 0.5,
      0, 0, 0.6,
      0, 0, 0.7,
      0, 0, 0.8,
    );
    const d = new Driver(random, ["tab"]);
    d.send(T0, connectToken("alice"));
    failCycleAt(d, T0); // ends at T0 + 5 s

    const expected = [
      5_000, //             reconnect 1: at once
      10_000 + 3_000 + 200, // reconnect 2 (reconnect 1's cycle ended at 10 s)
      18_200 + 9_000 + 400,
      32_600 + 27_000 + 600,
      65_200 + 60_000 + 800,
      131_000 + 120_000 + 1_000,
      257_000 + 60_000 + 1_200,
      323_200 + 60_000 + 1_400,
      389_600 + 60_000 + 1_600,
    ].map((t) => T0 + t);

    const starts: number[] = [];
    for (let n = 1; n <= 9; n++) {
      if (n > 1) {
        expect(d.state.nextReconnectAt).toBe(expected[n - 1]);
        expect(d.alarm(expected[n - 1]! - 1).some((e) => e.type === "request_token")).toBe(false);
        d.alarm(expected[n - 1]!);
      }
      expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: n, tokenAttempt: 1 });
      expect(d.state.pendingToken?.attempt).toBe(1);
      starts.push(d.state.pendingToken!.deadline - 15_000);
      if (n < 9) failCycleAt(d, starts[n - 1]!);
    }
    expect(starts).toEqual(expected);
    expect(random.left).toBe(0);
  });

  it("every reconnect attempt runs a full token cycle: attempts 1, 2, 3 with the 1 s and 4 s waits", () => {
    const d = new Driver(seq(NONCE, 0, 0, /* reconnect 1: */ 0.5, 0.25), ["tab"]);
    d.send(T0, connectToken("alice"));
    failCycleAt(d, T0);
    const r1 = T0 + 5_000;
    expect(d.state.reconnectAttempt).toBe(1);

    expect(d.state.pendingToken).toMatchObject({ attempt: 1, deadline: r1 + 15_000 });
    failNow(d, r1 + 200);
    expect(d.state.nextTokenAttemptAt).toBe(r1 + 200 + 1_000 + 1_000);
    expect(one(d.alarm(r1 + 2_200), "request_token").attempt).toBe(2);
    failNow(d, r1 + 2_500);
    expect(d.state.nextTokenAttemptAt).toBe(r1 + 2_500 + 4_000 + 500);
    expect(one(d.alarm(r1 + 7_000), "request_token").attempt).toBe(3);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 3 });
  });

  it("reconnect waits also count from a 15 s silence (the deadline of the cycle's last attempt)", () => {
    const d = new Driver(seq(NONCE, 0, 0, 0, 0, 0.5), ["tab"]);
    d.send(T0, connectToken("alice"));
    // Connect's cycle: deadlines at 15 s; attempt 2 at 16 s, deadline 31 s; attempt 3 at 35 s, deadline 50 s.
    d.alarmsUntil(T0 + 50_000);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 50_000 + 15_000);
    // Reconnect 1's cycle ends at 100 s; reconnect 2 at 100 s + 3 s + 1 s.
    d.alarmsUntil(T0 + 100_000);
    expect(d.state.nextReconnectAt).toBe(T0 + 104_000);
  });

  it("the remote being unavailable goes through the same table", () => {
    const d = new Driver(seq(NONCE, 0.5, 0.25), ["tab"]);
    d.send(T0, connectToken("alice"));
    const unavailable = (now: number) => {
      d.send(now, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
      d.send(now, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    };
    unavailable(T0 + 100);
    expect(d.state).toMatchObject({ reconnectAttempt: 1, tokenAttempt: 1 });
    unavailable(T0 + 200);
    expect(d.state.nextReconnectAt).toBe(T0 + 200 + 3_000 + 1_000);
    d.alarm(T0 + 4_200);
    unavailable(T0 + 4_300);
    expect(d.state.nextReconnectAt).toBe(T0 + 4_300 + 9_000 + 500);
  });

  it("the view shows when the next attempt starts", () => {
    const d = new Driver(seq(NONCE, 0, 0, 0, 0, 0.5, 0), ["tab"]);
    d.send(T0, connectToken("alice"));
    failCycleAt(d, T0);
    failCycleAt(d, T0 + 5_000);
    expect(view(d.state).nextAttemptAt).toBe(T0 + 10_000 + 3_000 + 1_000);
    expect(one(d.effects, "set_alarm").at).toBe(T0 + 14_000);
    d.alarm(T0 + 14_000);
    failNow(d, T0 + 14_000);
    expect(view(d.state).nextAttemptAt).toBe(T0 + 14_000 + 1_000);
  });
});

describe("a successful connection resets both counters", () => {
  function succeed(d: Driver, now: number, expiresAt?: number) {
    const requestId = d.requestId;
    d.send(now, { type: "token_answer", clientId: "tab", requestId, token: "t" });
    return d.send(now, { type: "remote_opened", requestId, userId: "alice", ...(expiresAt === undefined ? {} : { expiresAt }) });
  }

  it("after reconnects, success sets connected with tokenAttempt 0 and reconnectAttempt 0", () => {
    const d = new Driver(seq(NONCE, 0, 0, 0, 0, 0.5, 0.5), ["tab"]);
    d.send(T0, connectToken("alice"));
    failCycleAt(d, T0);
    failCycleAt(d, T0 + 5_000);
    d.alarm(T0 + 14_000);
    failNow(d, T0 + 14_000);
    d.alarm(T0 + 16_000);
    expect(d.state).toMatchObject({ reconnectAttempt: 2, tokenAttempt: 2 });
    succeed(d, T0 + 16_500);
    expect(d.state).toMatchObject({ status: "connected", tokenAttempt: 0, reconnectAttempt: 0 });
    expect(d.state.askedInCycle).toEqual([]);
  });

  it("a later failure starts again from the first row of both tables", () => {
    const HOUR = 3_600_000;
    const random = seq(NONCE, 0, 0, 0, 0, /* reconnect 2 wait */ 0.5, /* after success: */ 0.25, 0.75, /* then */ 0.1);
    const d = new Driver(random, ["tab"]);
    d.send(T0, connectToken("alice"));
    failCycleAt(d, T0);
    failCycleAt(d, T0 + 5_000);
    d.alarm(T0 + 14_000);
    expect(d.state.reconnectAttempt).toBe(2);
    succeed(d, T0 + 14_000, T0 + HOUR);

    // The remote says the token expired: a fresh token cycle, attempt 1 at once, waits 1 s and 4 s.
    const t = T0 + 20_000;
    expect(one(d.send(t, { type: "remote_token_expired" }), "request_token").attempt).toBe(1);
    failNow(d, t);
    expect(d.state.nextTokenAttemptAt).toBe(t + 1_000 + 500);
    d.alarm(t + 1_500);
    failNow(d, t + 1_500);
    expect(d.state.nextTokenAttemptAt).toBe(t + 1_500 + 4_000 + 1_500);
    d.alarm(t + 7_000);
    // The cycle fails: reconnect attempt 1 at once, then 3 s + jitter (not 9 s).
    expect(one(failNow(d, t + 7_000), "request_token").attempt).toBe(1);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    d.send(t + 7_000, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(t + 7_100, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(d.state.nextReconnectAt).toBe(t + 7_100 + 3_000 + 200);
    expect(random.left).toBe(0);
  });
});

describe("catch-up: a late alarm runs every due duty at its own due time", () => {
  const draws = () => seq(NONCE, ...Array.from({ length: 40 }, (_, i) => ((i * 37) % 100) / 100));

  it("an alarm 10 minutes late leaves exactly the state that on-time alarms would", () => {
    const onTime = new Driver(draws(), ["tab"]);
    const late = new Driver(draws(), ["tab"]);
    onTime.send(T0, connectToken("alice"));
    late.send(T0, connectToken("alice"));
    const firstDue = nextDue(late.state)!;
    const until = firstDue + 10 * 60_000;

    onTime.alarmsUntil(until);
    const effects = late.alarm(until);
    expect(late.state).toEqual(onTime.state);
    expect(late.state.reconnectAttempt).toBeGreaterThanOrEqual(6);
    expect(nextDue(late.state)).toBeGreaterThan(until);
    expect(one(effects, "set_alarm").at).toBe(nextDue(onTime.state));
  });

  it("each caught-up attempt starts at its due time, not at the alarm's time", () => {
    const d = new Driver(seq(NONCE, 0.5, 0.5), ["tab"]);
    d.send(T0, connectToken("alice"));
    // Attempt 1 times out at 15 s; attempt 2 starts at 17 s, times out at 32 s; attempt 3 due at 37 s.
    const effects = d.alarm(T0 + 40_000);
    expect(d.state.pendingToken).toMatchObject({ attempt: 3, deadline: T0 + 37_000 + 15_000 });
    const requests = effects.filter((e) => e.type === "request_token");
    expect(requests[requests.length - 1]).toMatchObject({ requestId: d.state.pendingToken?.requestId, attempt: 3 });
  });

});

describe("only the live request goes out", () => {
  it("a late alarm that runs several attempts sends only the request still pending", () => {
    const d = new Driver(seq(NONCE, ...Array.from({ length: 40 }, () => 0.5)), ["tab"]);
    d.send(T0, connectToken("alice"));
    // Jitter 1 s each: attempt 2 at 17 s, attempt 3 at 37 s, reconnect 1's attempt 1 at 52 s.
    const effects = d.alarm(T0 + 60_000);
    expect(d.state.pendingToken).toMatchObject({ attempt: 1, deadline: T0 + 52_000 + 15_000 });
    const requests = effects.filter((e) => e.type === "request_token");
    expect(requests).toEqual([expect.objectContaining({ requestId: d.state.pendingToken!.requestId, attempt: 1 })]);
  });
});

describe("remote_lost", () => {
  it("a connected session that loses the remote runs the reconnect schedule from its first row", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    d.send(T0, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(T0, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt: T0 + 3_600_000 });
    expect(d.state.status).toBe("connected");
    const effects = d.send(T0 + 5_000, { type: "remote_lost" });
    // Reconnect attempt 1 has no wait: its token attempt 1 goes out at once.
    expect(view(d.state)).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 1 });
    expect(one(effects, "request_token")).toMatchObject({ attempt: 1, clientId: "tab" });
    expect(d.state.expiresAt).toBeUndefined();
    expect(d.state.refreshAt).toBeUndefined();
  });

  it("is ignored unless connected", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const before = d.state;
    expect(d.send(T0 + 1, { type: "remote_lost" })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});

describe("a reconnect names the connection it replaces (Kaleyra's socket-id)", () => {
  it("the first connect's open names none; after the connection drops, the reconnect's open names its socket id", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const first = d.send(T0, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    expect(one(first, "open_remote").previousSocketId).toBeUndefined();
    d.send(T0, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt: T0 + 3_600_000, remoteSessionId: "r1", socketId: "sio-1" });
    d.send(T0 + 5_000, { type: "remote_lost" });
    const again = d.send(T0 + 5_000, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t2" });
    expect(one(again, "open_remote").previousSocketId).toBe("sio-1");
  });

  it("a new connect after a disconnect is not a reconnect: it names none", () => {
    const d = new Driver(seq(NONCE, NONCE), ["tab"]);
    d.send(T0, connectToken("alice", "tab"));
    d.send(T0, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(T0, { type: "remote_opened", requestId: d.requestId, userId: "alice", socketId: "sio-1" });
    d.send(T0 + 1, { type: "disconnect", clearSavedData: false });
    d.send(T0 + 1, { type: "remote_closed", requestId: d.requestId });
    d.send(T0 + 2, connectToken("alice", "tab"));
    expect(one(d.send(T0 + 3, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t2" }), "open_remote").previousSocketId).toBeUndefined();
  });
});
