/**
 * Joining a running session, and a link's first acceptance: a joining socket's token taken on the
 * live connection refreshes the session in the same step; an access-link session takes its app
 * slot only once Kaleyra accepts the link (anyone can make one up).
 */
import { describe, expect, it } from "vitest";
import { holdsSessionSlot, nextDue } from "./session";
import { connectLink, connectToken, Driver, NONCE, ofType, one, seq } from "./testing";

const T0 = 1_000_000;
const HOUR = 3_600_000;

function connected(expiresAt = T0 + HOUR) {
  const d = new Driver(seq(NONCE), ["tab"]);
  d.send(T0, connectToken("alice", "tab"));
  d.send(T0, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
  d.send(T0, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt, remoteSessionId: "r1" });
  return d;
}

describe("a joining token taken by the live connection", () => {
  it("is the session's token now: its expiry, and the refresh it needs", () => {
    const d = connected();
    const before = d.state.refreshAt!;
    const fx = d.send(T0 + 60_000, { type: "remote_token_joined", expiresAt: T0 + 2 * HOUR });
    expect(d.state).toMatchObject({ status: "connected", expiresAt: T0 + 2 * HOUR, refreshing: false });
    expect(d.state.refreshAt).toBeGreaterThan(before);
    expect(ofType(fx, "broadcast")).toHaveLength(1);
  });

  it("ends a refresh still waiting for a provider: no token is needed any more", () => {
    const d = connected();
    d.send(T0 + 1_000, { type: "remote_token_expiring" });
    expect(d.state).toMatchObject({ refreshing: true, tokenAttempt: 1 });
    d.send(T0 + 2_000, { type: "remote_token_joined", expiresAt: T0 + 2 * HOUR });
    expect(d.state).toMatchObject({ refreshing: false, tokenAttempt: 0 });
    expect(d.state.pendingToken).toBeUndefined();
    expect(nextDue(d.state)).toBe(Math.min(d.state.refreshAt!, d.state.livenessCheckAt!));
  });

  it("leaves a refresh whose update is in flight to finish", () => {
    const d = connected();
    d.send(T0 + 1_000, { type: "remote_token_expiring" });
    d.send(T0 + 1_500, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t2" });
    expect(d.state.pendingRemote?.purpose).toBe("update");
    d.send(T0 + 2_000, { type: "remote_token_joined", expiresAt: T0 + 2 * HOUR });
    expect(d.state).toMatchObject({ refreshing: true, pendingRemote: { purpose: "update" } });
  });

  it("changes nothing when the session is no longer connected", () => {
    const d = connected();
    d.send(T0 + 1_000, { type: "remote_lost" });
    const before = d.state;
    expect(d.send(T0 + 2_000, { type: "remote_token_joined", expiresAt: T0 + 2 * HOUR })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});

describe("an access-link session claims its slot when Kaleyra accepts the link, not before", () => {
  it("connecting: no slot; accepted: claim_slot (no prover), and no one is told it is connected before the claim", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink(undefined, "tab"));
    expect(d.state.status).toBe("connecting");
    expect(holdsSessionSlot(d.state)).toBe(false);
    const fx = d.send(T0 + 5, { type: "remote_opened", requestId: d.requestId, userId: "guest-ABC123", remoteSessionId: "r1" });
    expect(one(fx, "claim_slot")).toEqual({ type: "claim_slot" });
    expect(ofType(fx, "broadcast")).toEqual([]);
    expect(holdsSessionSlot(d.state)).toBe(true);
  });

  it("a made-up link Kaleyra refuses ends without ever holding a slot", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink(undefined, "tab"));
    d.send(T0 + 5, { type: "remote_failed", requestId: d.requestId, error: "invalid_access_link" });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "invalid_access_link" });
  });

  it("once accepted it keeps its slot while it reconnects", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink(undefined, "tab"));
    d.send(T0 + 5, { type: "remote_opened", requestId: d.requestId, userId: "guest-ABC123", remoteSessionId: "r1" });
    d.send(T0 + 10, { type: "remote_lost" });
    expect(d.state.status).toBe("reconnecting");
    expect(holdsSessionSlot(d.state)).toBe(true);
    expect(ofType(d.send(T0 + 20, { type: "remote_opened", requestId: d.requestId, userId: "guest-ABC123", remoteSessionId: "r2" }), "claim_slot")).toEqual([]);
  });
});
