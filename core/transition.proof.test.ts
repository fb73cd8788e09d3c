/**
 * A session started by an unproven socket's own token (core/attach.ts): proof and connect are one
 * step, the prover is the only token source, and a failed proof leaves nothing running.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { holdsSessionSlot, initialState, isActive, nextDue, SERVER_SOURCE, type SessionEvent } from "./session";
import { Driver, NONCE, ofType, one, seq } from "./testing";

const T0 = 1_000_000;
const HOUR = 3_600_000;
const proof = (token = "tok-1", clientId = "stranger"): SessionEvent => ({
  type: "connect_token",
  clientId,
  userId: "alice",
  policy: DEFAULT_RETRY_POLICY,
  serverTokens: "first",
  proofToken: token,
});

function started(random = seq(NONCE), clients = ["stranger"]) {
  const d = new Driver(random, clients);
  const fx = d.send(T0, proof());
  return { d, fx };
}

describe("the prover's token is attempt 1, answered at once", () => {
  it("opens the remote with the token it came with: no token request, no other source", () => {
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

  it("a remote that accepts it: proof_succeeded for the prover, and the session gets the app's server-side source", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt: T0 + HOUR });
    expect(one(fx, "proof_succeeded").clientId).toBe("stranger");
    expect(d.state).toMatchObject({ status: "connected", serverTokens: "first" });
    expect(d.state.proof).toBeUndefined();
    expect(holdsSessionSlot(d.state)).toBe(true);
  });
});

describe("the seed's token retry runs with the prover as its only source", () => {
  it("a refused token: attempt 2 after 1 s + jitter goes to the prover, never to the server or another client", () => {
    const { d } = started(seq(NONCE, 0.25), ["owner", "stranger"]);
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 5 + 1_000 + 500);
    expect(one(d.alarm(T0 + 1_505), "request_token")).toMatchObject({ clientId: "stranger", attempt: 2 });
  });

  it("attempt 3 failing ends the proof: auth_failed to the prover, a blank state, nothing due", () => {
    const { d } = started(seq(NONCE, 0, 0));
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    d.alarm(T0 + 1_005);
    d.send(T0 + 1_010, { type: "token_failure", clientId: "stranger", requestId: d.requestId });
    d.alarm(T0 + 5_010);
    const fx = d.send(T0 + 5_020, { type: "token_failure", clientId: "stranger", requestId: d.requestId });
    expect(one(fx, "proof_failed")).toEqual({ type: "proof_failed", clientId: "stranger", code: "auth_failed" });
    expect(isActive(d.state)).toBe(false);
    expect(nextDue(d.state)).toBeUndefined();
    expect({ ...d.state, seq: 0, nonce: "" }).toEqual(initialState());
  });

  it("Kaleyra unreachable: unavailable to the prover and nothing left running (no reconnect schedule)", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(one(fx, "proof_failed").code).toBe("unavailable");
    expect(d.state.status).toBe("disconnected");
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("the remote's deadline passing is the same: unavailable, nothing running", () => {
    const { d } = started();
    const fx = d.alarm(T0 + DEFAULT_RETRY_POLICY.tokenAttemptTimeoutMs);
    expect(one(fx, "proof_failed").code).toBe("unavailable");
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("an inactive user ends the proof as a refused proof, not as a visible user_inactive session", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "user_inactive" });
    expect(one(fx, "proof_failed").code).toBe("auth_failed");
    expect(d.state.error).toBeUndefined();
    expect(d.state.reason).toBeUndefined();
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

  it("a prover that leaves takes its proof with it: nothing running, nobody told", () => {
    const { d } = started();
    const fx = d.send(T0 + 5, { type: "client_left", clientId: "stranger" });
    expect(ofType(fx, "proof_failed")).toEqual([]);
    expect(isActive(d.state)).toBe(false);
  });

  it("a client attaching meanwhile is not asked for the proof's token", () => {
    const { d } = started(seq(NONCE, 0));
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    d.clients = [];
    d.alarm(T0 + 1_005); // attempt 2 with the prover gone from the list: held by nobody
    d.clients = ["owner"];
    expect(ofType(d.send(T0 + 1_006, { type: "client_attached", clientId: "owner" }), "request_token")).toEqual([]);
  });
});

describe("a proven client's connect or disconnect overtakes a pending proof", () => {
  it("connect: the proof ends (the prover is asked to prove again) and a real session starts, with the server source", () => {
    const { d } = started(seq(NONCE, NONCE), ["owner", "stranger"]);
    const fx = d.send(T0 + 5, { type: "connect_token", clientId: "owner", userId: "alice", policy: DEFAULT_RETRY_POLICY, serverTokens: "first" });
    expect(one(fx, "proof_failed")).toMatchObject({ clientId: "stranger", code: "auth_required" });
    expect(d.state.proof).toBeUndefined();
    expect(one(fx, "request_token").clientId).toBe(SERVER_SOURCE);
  });

  it("disconnect: the proof ends and the prover is asked to prove again", () => {
    const { d } = started(seq(NONCE), ["owner", "stranger"]);
    const fx = d.send(T0 + 5, { type: "disconnect", clientId: "owner", clearSavedData: false });
    expect(one(fx, "proof_failed")).toMatchObject({ clientId: "stranger", code: "auth_required" });
    expect(isActive(d.state)).toBe(false);
  });
});
