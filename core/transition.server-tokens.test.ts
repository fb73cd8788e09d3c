/**
 * The server-side token source (the server's KaleyraVideoInitializer): used when no client is
 * attached or attached clients fail ("fallback"), or before any client ("first").
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { SERVER_SOURCE, type ServerTokenOrder, type SessionEvent } from "./session";
import { Driver, NONCE, one, seq } from "./testing";

const T0 = 1_000_000;
const connect = (serverTokens?: ServerTokenOrder): SessionEvent =>
  serverTokens === undefined
    ? { type: "connect_token", userId: "alice", policy: DEFAULT_RETRY_POLICY }
    : { type: "connect_token", userId: "alice", policy: DEFAULT_RETRY_POLICY, serverTokens };

describe("fallback: the server is asked when no client is attached or the clients failed", () => {
  it("with no client attached, attempt 1 goes to the server at once", () => {
    const d = new Driver(seq(NONCE), []);
    expect(one(d.send(T0, connect("fallback")), "request_token")).toMatchObject({ clientId: SERVER_SOURCE, attempt: 1 });
  });

  it("with a client attached, the client is asked first and the server after it fails", () => {
    const d = new Driver(seq(NONCE, 0), ["tab"]);
    expect(one(d.send(T0, connect("fallback")), "request_token").clientId).toBe("tab");
    d.send(T0 + 10, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(one(d.alarm(T0 + 10 + 1_000), "request_token")).toMatchObject({ clientId: SERVER_SOURCE, attempt: 2 });
  });

  it("a token from the server connects like a client's", () => {
    const d = new Driver(seq(NONCE), []);
    d.send(T0, connect("fallback"));
    const open = one(d.send(T0 + 5, { type: "token_answer", clientId: SERVER_SOURCE, requestId: d.requestId, token: "tok" }), "open_remote");
    expect(open.credential).toEqual({ kind: "token", userId: "alice", token: "tok" });
    d.send(T0 + 6, { type: "remote_opened", requestId: open.requestId, userId: "alice", expiresAt: T0 + 3_600_000 });
    expect(d.state.status).toBe("connected");
  });

  it("a failure from the server counts as a failed attempt (it holds the request)", () => {
    const d = new Driver(seq(NONCE, 0), []);
    d.send(T0, connect("fallback"));
    d.send(T0 + 5, { type: "token_failure", clientId: SERVER_SOURCE, requestId: d.requestId });
    expect(d.state.pendingToken).toBeUndefined();
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 5 + 1_000);
  });
});

describe("first: the server is asked before any client", () => {
  it("attempt 1 goes to the server even with clients attached, attempt 2 to a client", () => {
    const d = new Driver(seq(NONCE, 0), ["tab"]);
    expect(one(d.send(T0, connect("first")), "request_token").clientId).toBe(SERVER_SOURCE);
    d.send(T0 + 10, { type: "token_failure", clientId: SERVER_SOURCE, requestId: d.requestId });
    expect(one(d.alarm(T0 + 10 + 1_000), "request_token")).toMatchObject({ clientId: "tab", attempt: 2 });
  });
});

describe("no server source", () => {
  it("with no client attached, the request waits with no holder and goes to the first client to attach", () => {
    const d = new Driver(seq(NONCE), []);
    const req = one(d.send(T0, connect()), "request_token");
    expect(req.clientId).toBeUndefined();
    expect(one(d.send(T0 + 100, { type: "client_attached", clientId: "tab" }), "request_token")).toMatchObject({ clientId: "tab", requestId: req.requestId });
  });
});
