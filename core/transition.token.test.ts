/**
 * The seed's token retry: up to 3 attempts, at once, then after 1 s + jitter, then after 4 s +
 * jitter; an attempt fails on a failure answer or after 15 s without success; jitter is uniform in
 * [0, 2 s] and drawn anew for every delay. Plus what the remote answers to a token.
 */
import { describe, expect, it } from "vitest";
import { nextDue } from "./session";
import { connectToken, Driver, NONCE, one, ofType, seq } from "./testing";

const T0 = 1_000_000;
const TOKEN = "eyJ.valid.token";

function connected(random = seq(NONCE), clients: string[] = ["tab"]): Driver {
  const d = new Driver(random, clients);
  d.send(T0, connectToken("alice"));
  return d;
}

describe("token attempt 1 is at once", () => {
  it("connect emits one request_token (attempt 1) at the same instant, arms the 15 s deadline and broadcasts", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    const effects = d.send(T0, connectToken("alice", "tab"));
    const requestId = d.state.pendingToken?.requestId;
    expect(effects).toEqual([
      { type: "broadcast" },
      { type: "request_token", requestId, userId: "alice", attempt: 1, clientId: "tab" },
      { type: "set_alarm", at: T0 + 15_000 },
    ]);
    expect(d.state).toMatchObject({ status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1, reconnectAttempt: 0 });
    expect(d.state.pendingToken).toEqual({ requestId, attempt: 1, deadline: T0 + 15_000, clientId: "tab" });
  });

  it("every connect gets a fresh nonce, so request ids of an earlier session never match", () => {
    const d = new Driver(seq(0.1, 0.2), ["tab"]);
    d.send(T0, connectToken("alice"));
    const first = d.requestId;
    d.send(T0 + 1, { type: "disconnect", clearSavedData: false });
    d.send(T0 + 2, connectToken("alice"));
    expect(d.requestId).not.toBe(first);
    expect(d.requestId.split(".")[0]).not.toBe(first.split(".")[0]);
  });

  it("request ids never repeat across sessions, even when the nonce draw repeats", () => {
    const d = new Driver(seq(NONCE, NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const first = d.requestId;
    d.send(T0 + 1, { type: "disconnect", clearSavedData: false });
    d.send(T0 + 2, connectToken("alice"));
    expect(d.requestId).not.toBe(first);
  });
});

describe("a 15 s silence is a failed attempt", () => {
  it("an alarm 1 ms before the deadline changes nothing; at the deadline the attempt fails", () => {
    const d = connected(seq(NONCE, 0.25));
    const before = d.state;
    expect(d.alarm(T0 + 14_999)).toEqual([{ type: "set_alarm", at: T0 + 15_000 }]);
    expect(d.state).toEqual(before);

    d.alarm(T0 + 15_000);
    expect(d.state.pendingToken).toBeUndefined();
    expect(d.state.status).toBe("connecting");
    expect(d.state.tokenAttempt).toBe(1);
  });

  it("attempt 2 starts 1 s + j*2 s after the deadline (delays count from the end of the attempt)", () => {
    const d = connected(seq(NONCE, 0.25));
    const effects = d.alarm(T0 + 15_000);
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 15_000 + 1_000 + 500);
    expect(ofType(effects, "request_token")).toEqual([]);
    expect(one(effects, "set_alarm").at).toBe(T0 + 16_500);

    const first = d.state.seq;
    const started = d.alarm(T0 + 16_500);
    expect(one(started, "request_token")).toMatchObject({ attempt: 2, userId: "alice", clientId: "tab" });
    expect(d.state.pendingToken).toMatchObject({ attempt: 2, deadline: T0 + 16_500 + 15_000 });
    expect(d.state.seq).toBe(first + 1);
    expect(one(started, "set_alarm").at).toBe(T0 + 31_500);
  });

  it("attempt 3 starts 4 s + a fresh j*2 s after attempt 2's deadline", () => {
    const d = connected(seq(NONCE, 0.25, 0.75));
    d.alarm(T0 + 15_000);
    d.alarm(T0 + 16_500);
    d.alarm(T0 + 31_500);
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 31_500 + 4_000 + 1_500);
    const effects = d.alarm(T0 + 37_000);
    expect(one(effects, "request_token").attempt).toBe(3);
    expect(d.state.pendingToken?.deadline).toBe(T0 + 37_000 + 15_000);
    expect(d.random).toHaveProperty("left", 0);
  });
});

describe("a failure answer is a failed attempt; the wait counts from the answer", () => {
  it("attempt 2 at answer + 1 s + j, attempt 3 at answer + 4 s + j' with a fresh draw", () => {
    const d = connected(seq(NONCE, 0.75, 0.1));
    d.send(T0 + 3_000, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(d.state.pendingToken).toBeUndefined();
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 3_000 + 1_000 + 1_500);

    expect(one(d.alarm(T0 + 5_500), "request_token").attempt).toBe(2);
    d.send(T0 + 6_000, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 6_000 + 4_000 + 200);

    expect(one(d.alarm(T0 + 10_200), "request_token").attempt).toBe(3);
  });

  it("jitter is within [0, 2 s]: random() = 0 adds nothing, random() ≈ 1 adds ≈ 2 s", () => {
    const low = connected(seq(NONCE, 0, 0));
    low.send(T0, { type: "token_failure", clientId: "tab", requestId: low.requestId });
    expect(low.state.nextTokenAttemptAt).toBe(T0 + 1_000);
    low.alarm(T0 + 1_000);
    low.send(T0 + 1_000, { type: "token_failure", clientId: "tab", requestId: low.requestId });
    expect(low.state.nextTokenAttemptAt).toBe(T0 + 1_000 + 4_000);

    const high = connected(seq(NONCE, 0.9999, 0.9999));
    high.send(T0, { type: "token_failure", clientId: "tab", requestId: high.requestId });
    expect(high.state.nextTokenAttemptAt).toBe(T0 + 1_000 + 2_000);
    const t2 = high.state.nextTokenAttemptAt!;
    high.alarm(t2);
    high.send(t2, { type: "token_failure", clientId: "tab", requestId: high.requestId });
    expect(high.state.nextTokenAttemptAt).toBe(t2 + 4_000 + 2_000);
  });

  it("after the 3rd failed attempt, reconnect attempt 1 starts at once with a fresh token attempt 1", () => {
    const d = connected(seq(NONCE, 0, 0));
    d.send(T0, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    d.alarm(T0 + 1_000);
    d.send(T0 + 1_000, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    d.alarm(T0 + 5_000);
    const third = d.requestId;
    const effects = d.send(T0 + 5_000, { type: "token_failure", clientId: "tab", requestId: third });
    const request = one(effects, "request_token");
    expect(request).toMatchObject({ attempt: 1, clientId: "tab" });
    expect(request.requestId).not.toBe(third);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 1 });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 5_000 + 15_000);
    expect(d.state.nextReconnectAt).toBeUndefined();
  });
});

describe("a token answer opens the remote; success resets the counters", () => {
  it("token_answer -> open_remote with the token; remote_opened -> connected", () => {
    const d = connected(seq(NONCE, 0.5));
    d.alarm(T0 + 15_000);
    d.alarm(T0 + 17_000);
    const requestId = d.requestId;
    const opening = d.send(T0 + 18_000, { type: "token_answer", clientId: "tab", requestId, token: TOKEN });
    expect(one(opening, "open_remote")).toEqual({
      type: "open_remote",
      requestId,
      credential: { kind: "token", userId: "alice", token: TOKEN },
    });
    expect(d.state.pendingToken).toBeUndefined();
    expect(d.state.pendingRemote).toEqual({ requestId, deadline: T0 + 18_000 + 15_000, purpose: "open" });

    const done = d.send(T0 + 18_100, { type: "remote_opened", requestId, userId: "alice" });
    expect(d.state).toMatchObject({ status: "connected", tokenAttempt: 0, reconnectAttempt: 0, refreshing: false });
    expect(nextDue(d.state)).toBeUndefined();
    expect(done).toEqual([{ type: "broadcast" }, { type: "set_alarm", at: null }]);
  });
});

describe("what the remote answers to a token", () => {
  function opening(random = seq(NONCE, 0.5)): Driver {
    const d = connected(random);
    d.send(T0 + 2_000, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: TOKEN });
    return d;
  }

  it.each(["token_expired", "token_invalid"] as const)("%s is a failed token attempt; the next waits 1 s + j from the answer", (error) => {
    const d = opening();
    const effects = d.send(T0 + 3_000, { type: "remote_failed", requestId: d.requestId, error });
    expect(d.state).toMatchObject({ status: "connecting", tokenAttempt: 1, nextTokenAttemptAt: T0 + 3_000 + 2_000 });
    expect(d.state.pendingRemote).toBeUndefined();
    expect(one(effects, "set_alarm").at).toBe(T0 + 5_000);
    expect(one(d.alarm(T0 + 5_000), "request_token").attempt).toBe(2);
  });

  it("unavailable skips the token attempts left: reconnect attempt 1 at once", () => {
    const d = opening(seq(NONCE));
    const effects = d.send(T0 + 3_000, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(one(effects, "request_token").attempt).toBe(1);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 1 });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 3_000 + 15_000);
  });

  it("no answer to open_remote within 15 s is unavailable, counted from the open's deadline", () => {
    const d = opening(seq(NONCE));
    expect(d.state.pendingRemote?.deadline).toBe(T0 + 17_000);
    expect(ofType(d.alarm(T0 + 16_999), "request_token")).toEqual([]);
    const effects = d.alarm(T0 + 17_000);
    expect(one(effects, "request_token").attempt).toBe(1);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 17_000 + 15_000);
  });

  it("a late alarm still counts the open's failure from its deadline", () => {
    const d = opening(seq(NONCE));
    d.alarm(T0 + 17_000 + 5_000);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 17_000 + 15_000);
  });

  it("user_inactive is final: disconnected with that error, alarm cleared, no more attempts", () => {
    const d = opening(seq(NONCE));
    const effects = d.send(T0 + 3_000, { type: "remote_failed", requestId: d.requestId, error: "user_inactive" });
    expect(d.state).toMatchObject({ status: "disconnected", error: "user_inactive", reason: "user_inactive" });
    expect(nextDue(d.state)).toBeUndefined();
    expect(effects).toEqual([{ type: "broadcast" }, { type: "set_alarm", at: null }]);
    // Nothing ever runs again: a later alarm does nothing, and the random source is never drawn.
    expect(d.alarm(T0 + 10 * 60_000)).toEqual([{ type: "set_alarm", at: null }]);
    expect(d.state.status).toBe("disconnected");
  });

  it("remote_opened for another user is a failed token attempt, not a connection", () => {
    const d = opening();
    d.send(T0 + 3_000, { type: "remote_opened", requestId: d.requestId, userId: "mallory" });
    expect(d.state).toMatchObject({ status: "connecting", userId: "alice", tokenAttempt: 1, nextTokenAttemptAt: T0 + 5_000 });
    expect(d.state.pendingRemote).toBeUndefined();
  });

  it("an answer for another open request is ignored", () => {
    const d = opening();
    const before = d.state;
    expect(d.send(T0 + 3_000, { type: "remote_opened", requestId: "other.1", userId: "alice" })).toEqual([]);
    expect(d.send(T0 + 3_000, { type: "remote_failed", requestId: "other.1", error: "user_inactive" })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});
