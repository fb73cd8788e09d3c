/**
 * A session started by an unproven socket proving the user (core/attach.ts): it runs the seed's
 * schedule like any session, with the prover as its only token source and only audience; final
 * answers end it at once with their reason; it becomes real when Kaleyra accepts one of the
 * prover's tokens; the prover leaving ends it with nothing left running.
 * (The schedule's times are pinned in transition.proof-schedule.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { holdsSessionSlot, initialState, isActive, nextDue, SERVER_SOURCE, type RemoteError, type SessionEvent } from "./session";
import { Driver, NONCE, ofType, one, seq } from "./testing";

const T0 = 1_000_000;
const HOUR = 3_600_000;
const proof = (token: string | undefined = "tok-1", clientId = "stranger"): SessionEvent => ({
  type: "connect_token",
  clientId,
  userId: "alice",
  policy: DEFAULT_RETRY_POLICY,
  serverTokens: "first",
  proof: token === undefined ? {} : { token },
});

function started(random: () => number = seq(NONCE), clients = ["stranger"], token?: string) {
  const d = new Driver(random, clients);
  const fx = d.send(T0, proof(token ?? "tok-1"));
  return { d, fx };
}

/** A state with nothing of the proof left (the request-id sequence aside). */
const blank = (d: Driver) => ({ ...d.state, seq: 0, nonce: "" });

describe("attempt 1 of a first connect", () => {
  it("a token that came with the proof is attempt 1, answered at once: the remote is opened with it, no request, no other source", () => {
    const { d, fx } = started();
    expect(ofType(fx, "request_token")).toEqual([]);
    expect(one(fx, "open_remote").credential).toEqual({ kind: "token", userId: "alice", token: "tok-1" });
    expect(d.state).toMatchObject({ status: "connecting", tokenAttempt: 1, proof: { clientId: "stranger", serverTokens: "first" } });
    // The app's server-side source waits until the proof succeeds.
    expect(d.state.serverTokens).toBeUndefined();
    // Nobody's session yet: it takes none of the app's session slots.
    expect(isActive(d.state)).toBe(true);
    expect(holdsSessionSlot(d.state)).toBe(false);
  });

  it("a proof without a token asks the prover for attempt 1 at once, timed out after 15 s like any attempt", () => {
    const d = new Driver(seq(NONCE), ["stranger"]);
    const fx = d.send(T0, { type: "connect_token", clientId: "stranger", userId: "alice", policy: DEFAULT_RETRY_POLICY, proof: {} });
    expect(one(fx, "request_token")).toMatchObject({ clientId: "stranger", attempt: 1 });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 15_000);
  });

  it("only the prover hears of it: its own view (proof_view), never a broadcast to the session's clients", () => {
    const { fx } = started();
    expect(ofType(fx, "broadcast")).toEqual([]);
    expect(one(fx, "proof_view")).toEqual({ type: "proof_view", clientId: "stranger", view: { status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1, reconnectAttempt: 0, refreshing: false } });
  });
});

describe("Kaleyra accepting one of the prover's tokens makes it a real session", () => {
  it("claim_slot names the prover; nobody is told it is connected before the slot is claimed; the app's server-side source applies", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt: T0 + HOUR });
    expect(one(fx, "claim_slot")).toEqual({ type: "claim_slot", prover: "stranger" });
    expect(ofType(fx, "broadcast")).toEqual([]);
    expect(ofType(fx, "proof_view")).toEqual([]);
    expect(d.state).toMatchObject({ status: "connected", serverTokens: "first" });
    expect(d.state.proof).toBeUndefined();
    expect(holdsSessionSlot(d.state)).toBe(true);
  });
});

describe("every failure of a first connect is a failed attempt of the seed's schedule", () => {
  it.each([["token_expired"], ["token_invalid"], ["user_not_found"]] as const)("a token Kaleyra refuses (%s): attempt 2 after 1 s + jitter goes to the prover, and its view says why", (error) => {
    const { d } = started(seq(NONCE, 0.25), ["owner", "stranger"]);
    const fx = d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error });
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 5 + 1_000 + 500);
    expect(one(fx, "proof_view").view).toMatchObject({ status: "connecting", tokenAttempt: 1, lastError: error, nextAttemptAt: T0 + 1_505 });
    expect(one(d.alarm(T0 + 1_505), "request_token")).toMatchObject({ clientId: "stranger", attempt: 2 });
  });

  it("Kaleyra unreachable on the first CONNECT: the reconnect schedule runs (reconnect 1 at once, a new token cycle asked of the prover)", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(ofType(fx, "proof_failed")).toEqual([]);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 1, lastError: "unavailable", proof: { clientId: "stranger" } });
    expect(one(fx, "request_token")).toMatchObject({ clientId: "stranger", attempt: 1 });
  });

  it("a silent Kaleyra (the open's deadline passes) is unreachable too", () => {
    const { d } = started();
    d.alarm(T0 + DEFAULT_RETRY_POLICY.tokenAttemptTimeoutMs);
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, lastError: "unavailable" });
  });

  it("three failed cycles later, the prover is still the only source: the app's server-side source is never asked", () => {
    const { d } = started(() => 0);
    const asked: (string | undefined)[] = [];
    for (let due = nextDue(d.state); due !== undefined && due < T0 + 300_000; due = nextDue(d.state)) {
      for (const r of ofType(d.alarm(due), "request_token")) asked.push(r.clientId);
    }
    expect(asked.length).toBeGreaterThan(6);
    expect(new Set(asked)).toEqual(new Set(["stranger"]));
    expect(d.state.proof).toBeDefined();
  });
});

describe("final answers end a first connect at once, with their reason, and nothing is left", () => {
  it.each([
    ["unsupported_version", { error: "unsupported_version", reason: "unsupported_version" }],
    ["user_inactive", { error: "user_inactive", reason: "user_inactive" }],
  ] as const)("%s on the first CONNECT: the prover is shown disconnected with it; no retry, nothing due", (remote, shown) => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: remote as RemoteError });
    expect(one(fx, "proof_view")).toEqual({ type: "proof_view", clientId: "stranger", view: { status: "disconnected", mode: "token", userId: "alice", ...shown, tokenAttempt: 0, reconnectAttempt: 0, refreshing: false } });
    expect(ofType(fx, "request_token")).toEqual([]);
    expect(nextDue(d.state)).toBeUndefined();
    expect(blank(d)).toEqual(initialState());
  });

  it("the same during a later cycle of the first connect", () => {
    const { d } = started();
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    d.send(T0 + 6, { type: "token_answer", clientId: "stranger", requestId: d.requestId, token: "tok-2" });
    const fx = d.send(T0 + 7, { type: "remote_failed", requestId: d.requestId, error: "unsupported_version" });
    expect(one(fx, "proof_view").view).toMatchObject({ status: "disconnected", error: "unsupported_version" });
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("a webhook saying the user was deactivated does not end a proof (its own CONNECT would tell), nor tell the prover", () => {
    const { d } = started();
    const before = d.state;
    expect(d.send(T0 + 5, { type: "user_deactivated" })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});

describe("only the prover's own answers count", () => {
  it("another client's token for the proof's request is stale and changes nothing", () => {
    const { d } = started(seq(NONCE, 0), ["stranger", "other"]);
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    d.alarm(T0 + 1_005);
    const before = d.state;
    // A success from any client would win in a real session; in a proof only the prover answers.
    for (const event of [
      { type: "token_failure", clientId: "other", requestId: d.requestId },
      { type: "token_answer", clientId: "other", requestId: d.requestId, token: "someone-elses" },
    ] as const) {
      const fx = d.send(T0 + 1_010, event);
      expect(one(fx, "reply_error")).toMatchObject({ clientId: "other", code: "token_request_stale" });
      expect(d.state).toEqual(before);
    }
  });

  it("a client attaching meanwhile is not asked for the proof's token", () => {
    const { d } = started(seq(NONCE, 0), ["stranger", "owner"]);
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    d.alarm(T0 + 1_005);
    expect(ofType(d.send(T0 + 1_006, { type: "client_attached", clientId: "owner" }), "request_token")).toEqual([]);
  });
});

describe("the prover leaving ends the proof with nothing left running", () => {
  it("while Kaleyra checks its token: nothing due, nobody told", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "client_left", clientId: "stranger" });
    expect(ofType(fx, "proof_failed")).toEqual([]);
    expect(ofType(fx, "proof_view")).toEqual([]);
    expect(isActive(d.state)).toBe(false);
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("while it waits for its next reconnect", () => {
    const { d } = started();
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    d.clients = [];
    d.send(T0 + 6, { type: "client_left", clientId: "stranger" });
    expect(blank(d)).toEqual(initialState());
  });

  it("a restart that lost the prover's socket: the next attempt finds no prover and the proof ends", () => {
    const { d } = started(seq(NONCE, 0));
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    d.clients = []; // the socket is gone without a close event
    const fx = d.alarm(T0 + 1_005);
    expect(ofType(fx, "request_token")).toEqual([]);
    expect(blank(d)).toEqual(initialState());
  });
});

describe("a proven client's connect or disconnect overtakes a pending proof", () => {
  it("connect: the proof ends (the prover is asked to prove again) and a real session starts, with the server source", () => {
    const { d } = started(seq(NONCE, NONCE), ["owner", "stranger"]);
    const fx = d.send(T0 + 5, { type: "connect_token", clientId: "owner", userId: "alice", policy: DEFAULT_RETRY_POLICY, serverTokens: "first" });
    expect(one(fx, "proof_failed")).toMatchObject({ clientId: "stranger", code: "auth_required" });
    expect(d.state.proof).toBeUndefined();
    expect(one(fx, "request_token").clientId).toBe(SERVER_SOURCE);
    expect(one(fx, "broadcast")).toEqual({ type: "broadcast" });
  });

  it("disconnect: the proof ends and the prover is asked to prove again", () => {
    const { d } = started(seq(NONCE), ["owner", "stranger"]);
    const fx = d.send(T0 + 5, { type: "disconnect", clientId: "owner", clearSavedData: false });
    expect(one(fx, "proof_failed")).toMatchObject({ clientId: "stranger", code: "auth_required" });
    expect(isActive(d.state)).toBe(false);
  });
});
