/**
 * Many clients of one user share one session: one token request per attempt, addressed to one
 * client, moved to another client when that one leaves; stray, late and duplicate answers are
 * refused as token_request_stale.
 */
import { describe, expect, it } from "vitest";
import { connectToken, Driver, NONCE, one, ofType, seq } from "./testing";

const T0 = 1_000_000;

describe("one token request per attempt, to one client", () => {
  it("asks only the oldest attached client", () => {
    const d = new Driver(seq(NONCE), ["a", "b", "c"]);
    const effects = d.send(T0, connectToken("alice", "c"));
    expect(ofType(effects, "request_token")).toEqual([
      { type: "request_token", requestId: d.requestId, userId: "alice", attempt: 1, clientId: "a" },
    ]);
    expect(d.state.pendingToken?.clientId).toBe("a");
  });

  it("when the asked client leaves, the same request goes to another client with the same deadline", () => {
    const d = new Driver(seq(NONCE), ["a", "b"]);
    d.send(T0, connectToken("alice"));
    const before = d.state.pendingToken!;
    d.clients = ["b"];
    const effects = d.send(T0 + 4_000, { type: "client_left", clientId: "a" });
    expect(effects).toEqual([{ type: "request_token", requestId: before.requestId, userId: "alice", attempt: 1, clientId: "b" }]);
    expect(d.state.pendingToken).toEqual({ ...before, clientId: "b" });
  });

  it("when another client leaves, nothing is re-sent", () => {
    const d = new Driver(seq(NONCE), ["a", "b"]);
    d.send(T0, connectToken("alice"));
    const before = d.state;
    d.clients = ["a"];
    expect(d.send(T0 + 4_000, { type: "client_left", clientId: "b" })).toEqual([]);
    expect(d.state).toEqual(before);
  });

  it("with no client attached the request names no client, and goes to the first client that attaches", () => {
    const d = new Driver(seq(NONCE), []);
    const connecting = d.send(T0, connectToken("alice"));
    const request = one(connecting, "request_token");
    expect(request).toEqual({ type: "request_token", requestId: d.requestId, userId: "alice", attempt: 1 });
    expect(d.state.pendingToken?.clientId).toBeUndefined();

    d.clients = ["late"];
    const attached = d.send(T0 + 9_000, { type: "client_attached", clientId: "late" });
    expect(attached).toEqual([{ ...request, clientId: "late" }]);
    expect(d.state.pendingToken).toMatchObject({ requestId: request.requestId, attempt: 1, deadline: T0 + 15_000, clientId: "late" });

    d.clients = ["late", "later"];
    expect(d.send(T0 + 9_500, { type: "client_attached", clientId: "later" })).toEqual([]);
  });

  it("when the last asked client leaves, the request waits for the next client", () => {
    const d = new Driver(seq(NONCE), ["a"]);
    d.send(T0, connectToken("alice"));
    d.clients = [];
    const left = d.send(T0 + 1_000, { type: "client_left", clientId: "a" });
    expect(one(left, "request_token")).not.toHaveProperty("clientId");
    expect(d.state.pendingToken?.clientId).toBeUndefined();
    d.clients = ["b"];
    expect(one(d.send(T0 + 2_000, { type: "client_attached", clientId: "b" }), "request_token").clientId).toBe("b");
    expect(d.state.pendingToken?.deadline).toBe(T0 + 15_000);
  });

  it("the next attempt prefers a client not yet asked in this cycle, then the oldest", () => {
    const d = new Driver(seq(NONCE, 0, 0, 0, 0), ["a", "b"]);
    d.send(T0, connectToken("alice"));
    const askedAt = (now: number) => one(d.alarm(now), "request_token").clientId;
    d.send(T0, { type: "token_failure", clientId: "a", requestId: d.requestId });
    expect(askedAt(T0 + 1_000)).toBe("b");
    d.send(T0 + 1_000, { type: "token_failure", clientId: "b", requestId: d.requestId });
    expect(askedAt(T0 + 5_000)).toBe("a");
    // The cycle fails; the reconnect's fresh cycle starts again with the oldest client.
    const reconnect = d.send(T0 + 5_000, { type: "token_failure", clientId: "a", requestId: d.requestId });
    expect(one(reconnect, "request_token").clientId).toBe("a");
    expect(d.state.askedInCycle).toEqual(["a"]);
  });

  it("after the request moved to another client, the next attempt goes to a client not yet asked", () => {
    const d = new Driver(seq(NONCE, 0), ["a", "b", "c"]);
    d.send(T0, connectToken("alice"));
    d.clients = ["b", "c"];
    d.send(T0 + 100, { type: "client_left", clientId: "a" });
    expect(d.state.pendingToken?.clientId).toBe("b");
    d.send(T0 + 200, { type: "token_failure", clientId: "b", requestId: d.requestId });
    expect(one(d.alarm(T0 + 1_200), "request_token").clientId).toBe("c");
  });
});

describe("answers that no longer match a pending request", () => {
  it("a failure from a client other than the asked one is refused and does not end the attempt", () => {
    const d = new Driver(seq(NONCE), ["a", "b"]);
    d.send(T0, connectToken("alice"));
    const before = d.state;
    const effects = d.send(T0 + 1_000, { type: "token_failure", clientId: "b", requestId: d.requestId });
    expect(effects).toEqual([{ type: "reply_error", clientId: "b", code: "token_request_stale", requestId: d.requestId }]);
    expect(d.state).toEqual(before);
  });

  it("a success from any attached client is taken", () => {
    const d = new Driver(seq(NONCE), ["a", "b"]);
    d.send(T0, connectToken("alice"));
    const requestId = d.requestId;
    const effects = d.send(T0 + 1_000, { type: "token_answer", clientId: "b", requestId, token: "t" });
    expect(one(effects, "open_remote").requestId).toBe(requestId);
  });

  it("a second answer to the same request is stale and opens nothing", () => {
    const d = new Driver(seq(NONCE), ["a", "b"]);
    d.send(T0, connectToken("alice"));
    const requestId = d.requestId;
    d.send(T0 + 1_000, { type: "token_answer", clientId: "a", requestId, token: "t1" });
    const before = d.state;
    const again = d.send(T0 + 1_100, { type: "token_answer", clientId: "b", requestId, token: "t2" });
    expect(again).toEqual([{ type: "reply_error", clientId: "b", code: "token_request_stale", requestId }]);
    expect(d.state).toEqual(before);
    const failure = d.send(T0 + 1_200, { type: "token_failure", clientId: "a", requestId });
    expect(failure).toEqual([{ type: "reply_error", clientId: "a", code: "token_request_stale", requestId }]);
  });

  it("an answer after success is stale and opens nothing", () => {
    const d = new Driver(seq(NONCE), ["a"]);
    d.send(T0, connectToken("alice"));
    const requestId = d.requestId;
    d.send(T0 + 1_000, { type: "token_answer", clientId: "a", requestId, token: "t" });
    d.send(T0 + 1_100, { type: "remote_opened", requestId, userId: "alice" });
    const before = d.state;
    const late = d.send(T0 + 2_000, { type: "token_answer", clientId: "a", requestId, token: "t" });
    expect(late).toEqual([{ type: "reply_error", clientId: "a", code: "token_request_stale", requestId }]);
    expect(ofType(late, "open_remote")).toEqual([]);
    expect(d.state).toEqual(before);
  });

  it("an answer to an attempt that timed out is stale", () => {
    const d = new Driver(seq(NONCE, 0.5), ["a"]);
    d.send(T0, connectToken("alice"));
    const first = d.requestId;
    d.alarm(T0 + 15_000);
    const late = d.send(T0 + 15_500, { type: "token_answer", clientId: "a", requestId: first, token: "t" });
    expect(late).toEqual([{ type: "reply_error", clientId: "a", code: "token_request_stale", requestId: first }]);
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 17_000);
  });

  it("an answer to an attempt whose 15 s passed is stale even when the alarm has not fired yet", () => {
    const d = new Driver(seq(NONCE, 0.5), ["a"]);
    d.send(T0, connectToken("alice"));
    const first = d.requestId;
    const late = d.send(T0 + 16_000, { type: "token_answer", clientId: "a", requestId: first, token: "t" });
    expect(ofType(late, "open_remote")).toEqual([]);
    expect(ofType(late, "reply_error")).toEqual([{ type: "reply_error", clientId: "a", code: "token_request_stale", requestId: first }]);
    expect(d.state).toMatchObject({ status: "connecting", tokenAttempt: 1, nextTokenAttemptAt: T0 + 17_000 });
  });
});

describe("a holder that vanished without a close (process restart)", () => {
  it("the request moves to the next client to attach, same id and deadline", () => {
    const d = new Driver(seq(NONCE), ["old-tab"]);
    d.send(1_000, connectToken("alice"));
    const held = d.state.pendingToken!;
    expect(held.clientId).toBe("old-tab");
    // After a restart the old socket is simply gone: ctx.clients lists only the new one.
    d.clients = ["new-tab"];
    const effects = d.send(2_000, { type: "client_attached", clientId: "new-tab" });
    expect(one(effects, "request_token")).toMatchObject({ requestId: held.requestId, attempt: 1, clientId: "new-tab" });
    expect(d.state.pendingToken).toEqual({ ...held, clientId: "new-tab" });
  });

  it("a request held by a client still attached is not sent again to a newcomer", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(1_000, connectToken("alice"));
    d.clients = ["tab", "tab2"];
    expect(d.send(2_000, { type: "client_attached", clientId: "tab2" }).filter((e) => e.type === "request_token")).toEqual([]);
  });
});
