/**
 * The first connect is a connect like any other: the seed's schedule runs from the first provider
 * call, before and during the socket's proof, with the same timeouts and counters. Each test pins
 * the times the prover's provider is asked (its `token_request`s) with an injected clock and a
 * fixed random source (every jitter draw is 0.5), for a provider that fails and for one that never
 * answers, under the seed's policy and under a scaled one.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./policy";
import { nextDue, view, type Effect, type SessionEvent, type SessionView } from "./session";
import { Driver, ofType } from "./testing";

/** The scaled policy an app may set (tokens 0/100/400 ms, reconnects 0/300/900/... ms, 200 ms jitter). */
const SCALED: RetryPolicy = {
  tokenAttemptDelaysMs: [0, 100, 400],
  tokenAttemptTimeoutMs: 1_500,
  reconnectDelaysMs: [0, 300, 900, 2_700, 6_000, 12_000],
  reconnectSteadyDelayMs: 6_000,
  jitterMaxMs: 200,
};
const HALF = () => 0.5;

/**
 * Drives a first connect (the prover's auth asks for its token: attempt 1 is asked at once) until
 * `until`, answering each request as the provider does: a failure at once, or nothing. Returns the
 * times the provider was called, and what the prover was shown (proof_view) at each step.
 */
function firstConnect(policy: RetryPolicy, provider: "failing" | "silent", until: number, proven = false) {
  const d = new Driver(HALF, ["prover"]);
  const calls: { at: number; attempt: number; tokenAttempt: number; reconnectAttempt: number }[] = [];
  const shown: { at: number; view: SessionView }[] = [];
  const start: SessionEvent = proven
    ? { type: "connect_token", clientId: "prover", userId: "alice", policy }
    : { type: "connect_token", clientId: "prover", userId: "alice", policy, proof: {} };
  const take = (at: number, fx: Effect[]): void => {
    for (const v of ofType(fx, "proof_view")) shown.push({ at, view: v.view });
    if (proven && ofType(fx, "broadcast").length > 0) shown.push({ at, view: view(d.state) });
    for (const r of ofType(fx, "request_token")) {
      expect(r.clientId).toBe("prover");
      calls.push({ at, attempt: r.attempt, tokenAttempt: d.state.tokenAttempt, reconnectAttempt: d.state.reconnectAttempt });
      if (provider === "failing") take(at, d.send(at, { type: "token_failure", clientId: "prover", requestId: r.requestId }));
    }
  };
  take(0, d.send(0, start));
  for (let due = nextDue(d.state); due !== undefined && due <= until; due = nextDue(d.state)) take(due, d.alarm(due));
  return { d, calls, shown };
}

const times = (calls: { at: number }[]) => calls.map((c) => c.at);

describe("a first connect whose provider fails, under the seed's policy", () => {
  it("asks at once, then 1 s + jitter and 4 s + jitter later; then reconnects at once, after 3, 9, 27, 60, 120 s, then every 60 s (+ jitter), each with 3 token attempts", () => {
    const { calls } = firstConnect(DEFAULT_RETRY_POLICY, "failing", 700_000);
    // Jitter 1 s (0.5 of 2 s); a failure ends its attempt at once, so each cycle takes 7 s.
    const cycle = (at: number) => [at, at + 2_000, at + 7_000];
    const waits = [3_000, 9_000, 27_000, 60_000, 120_000]; // then 60 s for ever
    const reconnectAt = [7_000]; // reconnect 1: at once after the first cycle
    for (let i = 0; reconnectAt.at(-1)! < 700_000; i++) reconnectAt.push(reconnectAt.at(-1)! + 7_000 + (waits[i] ?? 60_000) + 1_000);
    expect(times(calls)).toEqual([0, ...reconnectAt].flatMap(cycle).filter((t) => t <= 700_000));
    expect(calls.slice(0, 6).map((c) => [c.attempt, c.reconnectAttempt])).toEqual([[1, 0], [2, 0], [3, 0], [1, 1], [2, 1], [3, 1]]);
  });
});

describe("a first connect whose provider never answers, under the seed's policy", () => {
  it("each attempt times out after 15 s; attempt 2 is asked 15 + 1 s + jitter after attempt 1, attempt 3 15 + 4 s + jitter after attempt 2, and the reconnects follow", () => {
    const { calls } = firstConnect(DEFAULT_RETRY_POLICY, "silent", 200_000);
    expect(times(calls)).toEqual([
      0, 17_000, 37_000, // attempts 1..3; attempt 3 times out at 52 s
      52_000, 69_000, 89_000, // reconnect 1 at once; times out at 104 s
      108_000, 125_000, 145_000, // reconnect 2: 3 s + jitter after 104 s; ends at 160 s
      170_000, 187_000, // reconnect 3: 9 s + jitter after 160 s
    ]);
  });
});

describe("a scaled retryPolicy is followed the same way before proof", () => {
  it("a failing provider: 0, 100 + jitter, 400 + jitter, then reconnects at once, after 300, 900, 2700 ms (+ jitter)", () => {
    const { calls } = firstConnect(SCALED, "failing", 8_000);
    // Jitter 100 ms (0.5 of 200 ms): a cycle takes 700 ms.
    expect(times(calls)).toEqual([0, 200, 700, 700, 900, 1_400, 1_800, 2_000, 2_500, 3_500, 3_700, 4_200, 7_000, 7_200, 7_700]);
  });

  it("a silent provider: each attempt times out after the app's tokenAttemptTimeoutMs (1.5 s)", () => {
    const { calls } = firstConnect(SCALED, "silent", 11_000);
    expect(times(calls)).toEqual([0, 1_700, 3_700, 5_200, 6_900, 8_900, 10_800]);
  });
});

describe("the prover's view counts like a running session's", () => {
  it.each([
    ["failing", DEFAULT_RETRY_POLICY, 200_000],
    ["silent", DEFAULT_RETRY_POLICY, 200_000],
    ["failing", SCALED, 10_000],
    ["silent", SCALED, 10_000],
  ] as const)("a %s provider: the same calls and the same views, step by step", (provider, policy, until) => {
    const proof = firstConnect(policy, provider, until);
    const running = firstConnect(policy, provider, until, true);
    expect(proof.calls).toEqual(running.calls);
    expect(proof.shown).toEqual(running.shown);
    // What the prover is shown says where the schedule is, and why.
    expect(proof.shown.map((s) => s.view.status)).toContain("reconnecting");
    expect(proof.shown.at(-1)?.view).toMatchObject({ lastError: provider === "failing" ? "token_failed" : "token_timeout" });
  });

  it("the prover is shown its attempt, the next attempt's time and the last failure as they change", () => {
    const { shown } = firstConnect(DEFAULT_RETRY_POLICY, "failing", 7_000);
    expect(shown.slice(0, 3).map((s) => s.view)).toEqual([
      { status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1, reconnectAttempt: 0, refreshing: false },
      { status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1, reconnectAttempt: 0, refreshing: false, nextAttemptAt: 2_000, lastError: "token_failed" },
      { status: "connecting", mode: "token", userId: "alice", tokenAttempt: 2, reconnectAttempt: 0, refreshing: false, lastError: "token_failed" },
    ]);
  });
});
