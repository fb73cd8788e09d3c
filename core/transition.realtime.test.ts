/**
 * The session on a live Kaleyra connection (issue: the real Kaleyra connection): refreshes go over
 * the connection, Kaleyra's notices drive the schedule, and liveness is a duty on the one alarm.
 */
import { describe, expect, it } from "vitest";
import { LIVENESS_CHECK_MS } from "./refresh";
import { nextDue } from "./session";
import { connectToken, Driver, NONCE, ofType, one, seq } from "./testing";

const T0 = 1_000_000;
const HOUR = 3_600_000;

function connected(random = seq(NONCE), expiresAt = T0 + HOUR) {
  const d = new Driver(random, ["tab"]);
  d.send(T0, connectToken("alice"));
  const requestId = d.requestId;
  d.send(T0 + 500, { type: "token_answer", clientId: "tab", requestId, token: "t1" });
  d.send(T0 + 1_000, { type: "remote_opened", requestId, userId: "alice", expiresAt, remoteSessionId: "conn-1" });
  return d;
}

describe("liveness: a rare safety check on the one alarm (the connector runs the heartbeat)", () => {
  it("a connected session asks whether its connection is held every 6 h; a late alarm checks once, it does not catch up", () => {
    expect(LIVENESS_CHECK_MS).toBe(6 * HOUR);
    const d = connected(seq(NONCE), T0 + 100 * HOUR);
    expect(d.state.livenessCheckAt).toBe(T0 + 1_000 + LIVENESS_CHECK_MS);
    expect(nextDue(d.state)).toBe(T0 + 1_000 + LIVENESS_CHECK_MS);
    const fx = d.alarm(T0 + 1_000 + 10 * LIVENESS_CHECK_MS);
    expect(ofType(fx, "check_remote")).toEqual([{ type: "check_remote", remoteSessionId: "conn-1" }]);
    expect(d.state.livenessCheckAt).toBe(T0 + 1_000 + 11 * LIVENESS_CHECK_MS);
  });

  it("a lost connection runs the reconnect schedule and closes what is left of it", () => {
    const d = connected();
    const fx = d.send(T0 + 5_000, { type: "remote_lost" });
    expect(d.state).toMatchObject({ status: "reconnecting", lastError: "remote_lost" });
    expect(d.state.livenessCheckAt).toBeUndefined();
    expect(one(fx, "close_remote").remoteSessionId).toBe("conn-1");
  });

  it("a waiting session has no liveness duty (it hibernates)", () => {
    const d = new Driver(seq(NONCE), []);
    d.send(T0, connectToken("alice"));
    expect(d.state.livenessCheckAt).toBeUndefined();
  });
});

describe("a refresh goes over the live connection", () => {
  it("the refreshed token is an update of the connection, not a new one; the ack re-arms the refresh", () => {
    const d = connected();
    const t = d.state.refreshAt!;
    d.alarm(t);
    const fx = d.send(t + 100, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t2" });
    expect(ofType(fx, "open_remote")).toEqual([]);
    const update = one(fx, "update_remote");
    expect(update).toMatchObject({ remoteSessionId: "conn-1", token: "t2" });
    d.send(t + 200, { type: "remote_updated", requestId: update.requestId, expiresAt: t + 2 * HOUR });
    expect(d.state).toMatchObject({ status: "connected", refreshing: false, tokenAttempt: 0, expiresAt: t + 2 * HOUR, remoteSessionId: "conn-1" });
    expect(d.state.refreshAt).toBeGreaterThan(t + HOUR);
  });

  it("a refused update fails that token attempt: attempt 2 after 1 s + jitter, still connected", () => {
    const d = connected(seq(NONCE, 0));
    const t = d.state.refreshAt!;
    d.alarm(t);
    const update = one(d.send(t + 100, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "bad" }), "update_remote");
    d.send(t + 200, { type: "remote_failed", requestId: update.requestId, error: "token_invalid" });
    expect(d.state).toMatchObject({ status: "connected", refreshing: true, nextTokenAttemptAt: t + 1_200, lastError: "token_invalid" });
  });

  it("an update Kaleyra never acks is a lost connection: reconnect, and the old connection is closed", () => {
    const d = connected();
    const t = d.state.refreshAt!;
    d.alarm(t);
    const update = one(d.send(t + 100, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t2" }), "update_remote");
    const fx = d.alarm(t + 100 + 15_000);
    expect(d.state).toMatchObject({ status: "reconnecting", lastError: "unavailable" });
    expect(one(fx, "close_remote").remoteSessionId).toBe("conn-1");
    expect(update.requestId).not.toBe(d.state.pendingToken?.requestId);
    // Kaleyra's late ack of that update changes nothing: the session already moved on.
    const before = structuredClone(d.state);
    expect(d.send(t + 100 + 15_001, { type: "remote_updated", requestId: update.requestId, expiresAt: t + 2 * HOUR })).toEqual([]);
    expect(d.state).toEqual(before);
  });

  it("Kaleyra saying the token is about to expire starts the refresh now, once", () => {
    const d = connected();
    const fx = d.send(T0 + 10_000, { type: "remote_token_expiring" });
    expect(one(fx, "request_token")).toMatchObject({ attempt: 1, expiresAt: T0 + HOUR });
    expect(d.send(T0 + 11_000, { type: "remote_token_expiring" })).toEqual([]);
  });
});

describe("Kaleyra's refusals and notices", () => {
  it("user_not_found fails the token attempt and says so in lastError", () => {
    const d = new Driver(seq(NONCE, 0), ["tab"]);
    d.send(T0, connectToken("alice"));
    const requestId = d.requestId;
    d.send(T0 + 1, { type: "token_answer", clientId: "tab", requestId, token: "t" });
    d.send(T0 + 2, { type: "remote_failed", requestId, error: "user_not_found" });
    expect(d.state).toMatchObject({ status: "connecting", lastError: "user_not_found", nextTokenAttemptAt: T0 + 1_002 });
  });

  it("sdk_version_unsupported ends the session with unsupported_version, no retries", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const requestId = d.requestId;
    d.send(T0 + 1, { type: "token_answer", clientId: "tab", requestId, token: "t" });
    d.send(T0 + 2, { type: "remote_failed", requestId, error: "unsupported_version" });
    expect(d.state).toMatchObject({ status: "disconnected", error: "unsupported_version", reason: "unsupported_version" });
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("user:force_disconnect ends the session with user_inactive (final) and closes the connection", () => {
    const d = connected();
    const fx = d.send(T0 + 5_000, { type: "user_deactivated" });
    expect(d.state).toMatchObject({ status: "disconnected", error: "user_inactive" });
    expect(one(fx, "close_remote").remoteSessionId).toBe("conn-1");
    expect(nextDue(d.state)).toBeUndefined();
  });
});
