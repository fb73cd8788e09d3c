/**
 * The app's upstream policy "grace" (core/transition-idle.ts): the session keeps running with no
 * client attached, but closes its Kaleyra connection after the grace and reopens it when a client
 * attaches.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { isActive, nextDue, view, type SessionEvent } from "./session";
import { Driver, NONCE, ofType, one, seq } from "./testing";

const T0 = 1_000_000;
const HOUR = 3_600_000;
const GRACE = 60_000;

function connected(graceMs: number | null = GRACE) {
  // Jitter draws of 0 for the retries that run while nobody is attached.
  const d = new Driver(seq(NONCE, ...Array<number>(64).fill(0)), ["tab"]);
  const connect: SessionEvent = { type: "connect_token", userId: "alice", policy: DEFAULT_RETRY_POLICY, ...(graceMs === null ? {} : { graceMs }) };
  d.send(T0, connect);
  const requestId = d.requestId;
  d.send(T0 + 500, { type: "token_answer", clientId: "tab", requestId, token: "t1" });
  d.send(T0 + 1_000, { type: "remote_opened", requestId, userId: "alice", expiresAt: T0 + HOUR, remoteSessionId: "conn-1" });
  return d;
}

describe("upstream policy grace: the connection outlives the last client by the grace, the session outlives it", () => {
  it("while a client is attached nothing changes: no idle duty", () => {
    const d = connected();
    expect(d.state.idleAt).toBeUndefined();
  });

  it("the last client leaving arms the idle duty graceMs later; at it the connection closes and the session waits, still running", () => {
    const d = connected();
    d.clients = [];
    d.send(T0 + 10_000, { type: "client_left", clientId: "tab" });
    expect(d.state.idleAt).toBe(T0 + 10_000 + GRACE);
    expect(nextDue(d.state)).toBe(T0 + 10_000 + GRACE);
    const fx = d.alarm(T0 + 10_000 + GRACE);
    expect(one(fx, "close_remote").remoteSessionId).toBe("conn-1");
    expect(d.state).toMatchObject({ status: "reconnecting", lastError: "idle", idle: true, reconnectAttempt: 0 });
    expect(d.state.remoteSessionId).toBeUndefined();
    // Keep-alive: still an active session (its slot, user and data stay), with nothing to do until a client comes.
    expect(isActive(d.state)).toBe(true);
    expect(nextDue(d.state)).toBeUndefined();
    expect(view(d.state).nextAttemptAt).toBeUndefined();
  });

  it("a client attaching within the grace cancels it; attaching to an idle session reconnects at once", () => {
    const d = connected();
    d.clients = [];
    d.send(T0 + 10_000, { type: "client_left", clientId: "tab" });
    d.clients = ["tab2"];
    d.send(T0 + 20_000, { type: "client_attached", clientId: "tab2" });
    expect(d.state.idleAt).toBeUndefined();
    expect(d.state.status).toBe("connected");
    d.clients = [];
    d.send(T0 + 30_000, { type: "client_left", clientId: "tab2" });
    d.alarm(T0 + 30_000 + GRACE);
    expect(d.state.idle).toBe(true);
    d.clients = ["tab3"];
    const fx = d.send(T0 + HOUR, { type: "client_attached", clientId: "tab3" });
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1, tokenAttempt: 1 });
    expect(d.state.idle).toBeUndefined();
    expect(d.state.lastError).toBeUndefined();
    expect(one(fx, "request_token")).toMatchObject({ clientId: "tab3", attempt: 1 });
  });

  it("the default (always) never closes the connection for idleness", () => {
    const d = connected(null);
    d.clients = [];
    d.send(T0 + 10_000, { type: "client_left", clientId: "tab" });
    expect(d.state.idleAt).toBeUndefined();
    expect(ofType(d.alarmsUntil(T0 + 10 * 60_000), "close_remote")).toEqual([]);
    expect(d.state.status).toBe("connected");
  });

  it("a session reconnecting with no client goes idle too: no retries for nobody", () => {
    const d = connected();
    d.clients = [];
    d.send(T0 + 10_000, { type: "client_left", clientId: "tab" });
    d.send(T0 + 20_000, { type: "remote_lost" });
    expect(d.state.status).toBe("reconnecting");
    expect(d.state.idleAt).toBe(T0 + 10_000 + GRACE);
    d.alarmsUntil(T0 + 10_000 + GRACE);
    expect(d.state).toMatchObject({ status: "reconnecting", idle: true });
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("a disconnect ends an idle session like any other", () => {
    const d = connected();
    d.clients = [];
    d.send(T0 + 10_000, { type: "client_left", clientId: "tab" });
    d.alarm(T0 + 10_000 + GRACE);
    d.send(T0 + HOUR, { type: "disconnect", clearSavedData: false });
    expect(d.state.status).toBe("disconnected");
    expect(d.state.idle).toBeUndefined();
  });
});
