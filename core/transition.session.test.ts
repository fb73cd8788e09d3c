/**
 * The session's life: exclusion between token and access-link sessions, disconnect (with and
 * without clearSavedData), access-link sessions, refresh before expiry, and purity.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { refreshTime, spreadOf } from "./refresh";
import { initialState, nextDue, view, type SessionEvent, type SessionState } from "./session";
import { connectLink, connectToken, deepFreeze, Driver, LINK, NONCE, one, ofType, seq } from "./testing";
import { transition } from "./transition";

const T0 = 1_000_000;
const HOUR = 3_600_000;

/** A token session of alice, connected at T0 + 1 s with a token that expires at `expiresAt`. */
function connectedToken(expiresAt?: number, random = seq(NONCE)): Driver {
  const d = new Driver(random, ["tab"]);
  d.send(T0, connectToken("alice"));
  const requestId = d.requestId;
  d.send(T0 + 500, { type: "token_answer", clientId: "tab", requestId, token: "t" });
  d.send(T0 + 1_000, { type: "remote_opened", requestId, userId: "alice", ...(expiresAt === undefined ? {} : { expiresAt }) });
  expect(d.state.status).toBe("connected");
  return d;
}

function connectedLink(random = seq(NONCE)): Driver {
  const d = new Driver(random, ["tab"]);
  d.send(T0, connectLink());
  d.send(T0 + 1_000, { type: "remote_opened", requestId: d.requestId, userId: "guest_1" });
  expect(d.state.status).toBe("connected");
  return d;
}

describe("exclusion", () => {
  it("connect_link while a token session is connecting or connected is refused, the state unchanged", () => {
    const connecting = new Driver(seq(NONCE), ["tab"]);
    connecting.send(T0, connectToken("alice"));
    for (const d of [connecting, connectedToken()]) {
      const before = structuredClone(d.state);
      const effects = d.send(T0 + 2_000, connectLink(LINK, "tab"));
      expect(effects).toEqual([{ type: "reply_error", clientId: "tab", code: "session_conflict" }]);
      expect(d.state).toEqual(before);
    }
  });

  it("connect_token (same or another user) while an access-link session is active is refused, the state unchanged", () => {
    const d = connectedLink();
    const before = structuredClone(d.state);
    for (const userId of ["guest_1", "bob"]) {
      expect(d.send(T0 + 2_000, connectToken(userId, "tab"))).toEqual([{ type: "reply_error", clientId: "tab", code: "session_conflict" }]);
      expect(d.state).toEqual(before);
    }
  });

  it("connect_token of another user while a token session is active is refused", () => {
    const d = connectedToken();
    const before = structuredClone(d.state);
    expect(d.send(T0 + 2_000, connectToken("bob", "tab"))).toEqual([{ type: "reply_error", clientId: "tab", code: "session_conflict" }]);
    expect(d.state).toEqual(before);
  });

  it("while reconnecting the session is still active and still exclusive", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink());
    d.send(T0 + 100, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(d.state.status).toBe("reconnecting");
    const before = structuredClone(d.state);
    expect(d.send(T0 + 200, connectToken("alice", "tab"))).toEqual([{ type: "reply_error", clientId: "tab", code: "session_conflict" }]);
    expect(d.state).toEqual(before);
  });

  it("connecting the same session again is a no-op join", () => {
    const token = connectedToken();
    const t = structuredClone(token.state);
    expect(token.send(T0 + 2_000, connectToken("alice", "tab2"))).toEqual([]);
    expect(token.state).toEqual(t);

    const connecting = new Driver(seq(NONCE), ["tab"]);
    connecting.send(T0, connectToken("alice"));
    const c = structuredClone(connecting.state);
    expect(connecting.send(T0 + 100, connectToken("alice", "tab2"))).toEqual([]);
    expect(connecting.state).toEqual(c);

    const link = connectedLink();
    const l = structuredClone(link.state);
    expect(link.send(T0 + 2_000, connectLink(LINK, "tab2"))).toEqual([]);
    expect(link.state).toEqual(l);
  });

  it("another access link while an access-link session is active is refused", () => {
    const d = connectedLink();
    const before = structuredClone(d.state);
    expect(d.send(T0 + 2_000, connectLink(`${LINK}X`, "tab"))).toEqual([{ type: "reply_error", clientId: "tab", code: "session_conflict" }]);
    expect(d.state).toEqual(before);
  });

  it("after disconnect, the other kind may connect", () => {
    const d = connectedToken(undefined, seq(NONCE, NONCE));
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: false });
    d.send(T0 + 2_100, { type: "remote_closed", requestId: d.requestId });
    const effects = d.send(T0 + 3_000, connectLink());
    expect(one(effects, "open_remote").credential).toEqual({ kind: "access_link", accessLink: LINK });
    expect(d.state).toMatchObject({ status: "connecting", mode: "access_link" });
  });
});

describe("disconnect", () => {
  it("from connected: disconnecting and close_remote, then remote_closed ends it", () => {
    const d = connectedToken(T0 + HOUR);
    const closing = d.send(T0 + 2_000, { type: "disconnect", clientId: "tab", clearSavedData: false });
    const close = one(closing, "close_remote");
    expect(d.state).toMatchObject({ status: "disconnecting", pendingRemote: { requestId: close.requestId, purpose: "close", deadline: T0 + 17_000 } });
    expect(d.state.refreshAt).toBeUndefined();
    expect(one(closing, "set_alarm").at).toBe(T0 + 17_000);

    const closed = d.send(T0 + 2_500, { type: "remote_closed", requestId: close.requestId });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "requested", mode: "token", userId: "alice" });
    expect(nextDue(d.state)).toBeUndefined();
    expect(closed).toEqual([{ type: "broadcast" }, { type: "set_alarm", at: null }]);
  });

  it("from connected: with no remote_closed, the close deadline ends it", () => {
    const d = connectedToken();
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: false });
    d.alarm(T0 + 16_999);
    expect(d.state.status).toBe("disconnecting");
    d.alarm(T0 + 17_000);
    expect(d.state).toMatchObject({ status: "disconnected", reason: "requested" });
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("a remote_closed for another request does not end it", () => {
    const d = connectedToken();
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: false });
    expect(d.send(T0 + 2_100, { type: "remote_closed", requestId: "other.9" })).toEqual([]);
    expect(d.state.status).toBe("disconnecting");
  });

  it("with clearSavedData, ending emits clear_data and forgets the user", () => {
    const d = connectedToken();
    const closing = d.send(T0 + 2_000, { type: "disconnect", clearSavedData: true });
    expect(ofType(closing, "clear_data")).toEqual([]);
    const closed = d.send(T0 + 2_500, { type: "remote_closed", requestId: d.requestId });
    expect(one(closed, "clear_data")).toEqual({ type: "clear_data" });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "requested" });
    expect(d.state.userId).toBeUndefined();
    expect(d.state.mode).toBeUndefined();
    expect(d.state.policy).toBeUndefined();
    expect(d.state.clearOnDisconnect).toBe(false);
  });

  it("with clearSavedData, the clear also happens when the close deadline ends it", () => {
    const d = connectedToken();
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: true });
    expect(one(d.alarm(T0 + 17_000), "clear_data")).toEqual({ type: "clear_data" });
  });

  it("clearSavedData asked again while disconnecting still clears", () => {
    const d = connectedToken();
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: false });
    expect(d.send(T0 + 2_100, { type: "disconnect", clearSavedData: true })).toEqual([]);
    expect(one(d.send(T0 + 2_500, { type: "remote_closed", requestId: d.requestId }), "clear_data")).toBeDefined();
  });

  it("clearSavedData: false while disconnecting does not cancel a clear asked for", () => {
    const d = connectedToken();
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: true });
    d.send(T0 + 2_100, { type: "disconnect", clearSavedData: false });
    expect(one(d.send(T0 + 2_500, { type: "remote_closed", requestId: d.requestId }), "clear_data")).toBeDefined();
  });

  it("without clearSavedData, no clear_data", () => {
    const d = connectedToken();
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: false });
    expect(ofType(d.send(T0 + 2_500, { type: "remote_closed", requestId: d.requestId }), "clear_data")).toEqual([]);
  });

  it("clearSavedData when already disconnected clears at once", () => {
    const d = new Driver(seq());
    expect(d.send(T0, { type: "disconnect", clearSavedData: false })).toEqual([]);
    expect(one(d.send(T0, { type: "disconnect", clearSavedData: true }), "clear_data")).toBeDefined();
  });

  it("from connecting: ends at once, cancels every duty, clears the alarm", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const effects = d.send(T0 + 1_000, { type: "disconnect", clearSavedData: false });
    expect(ofType(effects, "close_remote")).toEqual([]);
    expect(one(effects, "set_alarm").at).toBeNull();
    expect(d.state).toMatchObject({ status: "disconnected", reason: "requested", tokenAttempt: 0, reconnectAttempt: 0 });
    expect(nextDue(d.state)).toBeUndefined();
    expect(d.state.pendingToken).toBeUndefined();
    // Nothing runs later, and a late answer is stale.
    expect(d.alarm(T0 + HOUR)).toEqual([{ type: "set_alarm", at: null }]);
    expect(ofType(d.send(T0 + HOUR, { type: "token_failure", clientId: "tab", requestId: "x" }), "reply_error")).toHaveLength(1);
  });

  it("from connecting while the remote is being opened: ends at once and ignores the late open", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const requestId = d.requestId;
    d.send(T0 + 100, { type: "token_answer", clientId: "tab", requestId, token: "t" });
    d.send(T0 + 200, { type: "disconnect", clearSavedData: false });
    expect(nextDue(d.state)).toBeUndefined();
    d.send(T0 + 300, { type: "remote_opened", requestId, userId: "alice" });
    expect(d.state.status).toBe("disconnected");
  });

  it("from reconnecting (waiting between attempts): ends at once, clears the alarm, with clear_data when asked", () => {
    const d = new Driver(seq(NONCE, 0.5), ["tab"]);
    d.send(T0, connectToken("alice"));
    d.send(T0 + 100, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(T0 + 200, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    d.send(T0 + 300, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(T0 + 400, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(d.state).toMatchObject({ status: "reconnecting", nextReconnectAt: T0 + 400 + 4_000 });

    const effects = d.send(T0 + 500, { type: "disconnect", clearSavedData: true });
    expect(d.state).toMatchObject({ status: "disconnected", reconnectAttempt: 0 });
    expect(nextDue(d.state)).toBeUndefined();
    expect(effects).toContainEqual({ type: "set_alarm", at: null });
    expect(effects).toContainEqual({ type: "clear_data" });
    expect(ofType(effects, "close_remote")).toEqual([]);
  });

  it("connect while disconnecting is refused until the session has ended, so the clear asked for still happens", () => {
    const d = connectedToken(undefined, seq(NONCE, NONCE));
    d.send(T0 + 2_000, { type: "disconnect", clearSavedData: true });
    const closing = d.requestId;
    const before = structuredClone(d.state);
    for (const event of [connectToken("alice", "tab"), connectLink(LINK, "tab")]) {
      expect(d.send(T0 + 2_100, event)).toEqual([{ type: "reply_error", clientId: "tab", code: "session_conflict" }]);
      expect(d.state).toEqual(before);
    }
    expect(one(d.send(T0 + 2_500, { type: "remote_closed", requestId: closing }), "clear_data")).toEqual({ type: "clear_data" });
    expect(one(d.send(T0 + 2_600, connectToken("alice", "tab")), "request_token").attempt).toBe(1);
  });
});

describe("call_ended", () => {
  it("in access-link mode: disconnected with reason call_ended, and its data cleared", () => {
    const d = connectedLink();
    const effects = d.send(T0 + 60_000, { type: "call_ended" });
    expect(one(effects, "clear_data")).toEqual({ type: "clear_data" });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "call_ended" });
    expect(d.state.accessLink).toBeUndefined();
    expect(nextDue(d.state)).toBeUndefined();
  });

  it("while an access-link session is reconnecting also ends it", () => {
    const d = new Driver(seq(NONCE, 0), ["tab"]);
    d.send(T0, connectLink());
    d.send(T0 + 100, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    const effects = d.send(T0 + 200, { type: "call_ended" });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "call_ended" });
    expect(effects).toContainEqual({ type: "set_alarm", at: null });
  });

  it("in token mode changes nothing", () => {
    const d = connectedToken();
    const before = structuredClone(d.state);
    expect(d.send(T0 + 60_000, { type: "call_ended" })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});

describe("access-link sessions", () => {
  it("connect_link opens the remote at once with the link, and never asks for a token", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    const effects = d.send(T0, connectLink(LINK, "tab"));
    expect(effects).toEqual([
      { type: "broadcast" },
      { type: "open_remote", requestId: d.requestId, credential: { kind: "access_link", accessLink: LINK } },
      { type: "set_alarm", at: T0 + 15_000 },
    ]);
    expect(d.state).toMatchObject({ status: "connecting", mode: "access_link", tokenAttempt: 0 });
    expect(d.state.pendingToken).toBeUndefined();
  });

  it("connected: no refresh, even when the remote gives an expiry; remote_token_expired changes nothing", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink());
    d.send(T0 + 1_000, { type: "remote_opened", requestId: d.requestId, userId: "guest_1", expiresAt: T0 + 120_000 });
    expect(d.state).toMatchObject({ status: "connected", userId: "guest_1" });
    expect(d.state.expiresAt).toBeUndefined();
    expect(nextDue(d.state)).toBeUndefined();
    expect(d.send(T0 + 2_000, { type: "remote_token_expired" })).toEqual([]);
  });

  it("Kaleyra closing a link's connection ends its call (call_ended, data cleared); a drop reconnects", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink());
    d.send(T0 + 1_000, { type: "remote_opened", requestId: d.requestId, userId: "guest_1" });
    const dropped = structuredClone(d.state);
    d.send(T0 + 2_000, { type: "remote_lost", byServer: false });
    expect(d.state.status).toBe("reconnecting");
    d.state = dropped;
    const fx = d.send(T0 + 2_000, { type: "remote_lost", byServer: true });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "call_ended" });
    expect(fx.map((f) => f.type)).toContain("clear_data");
  });

  it("a token session's connection closed by Kaleyra reconnects: only a link's call can end that way", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    d.send(T0, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(T0, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt: T0 + 3_600_000 });
    d.send(T0 + 5_000, { type: "remote_lost", byServer: true });
    expect(d.state).toMatchObject({ status: "reconnecting", lastError: "remote_lost" });
  });

  it("unavailable runs the reconnect schedule, reopening the link each time and never asking a token", () => {
    const d = new Driver(seq(NONCE, 0.5, 0.25), ["tab"]);
    d.send(T0, connectLink());
    const all = [...d.send(T0 + 100, { type: "remote_failed", requestId: d.requestId, error: "unavailable" })];
    expect(d.state).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    expect(one(all, "open_remote").credential).toEqual({ kind: "access_link", accessLink: LINK });
    expect(d.state.pendingRemote?.deadline).toBe(T0 + 100 + 15_000);

    // Reconnect 1 gets no answer: 15 s later it failed; reconnect 2 after 3 s + 1 s.
    all.push(...d.alarm(T0 + 15_100));
    expect(d.state.nextReconnectAt).toBe(T0 + 15_100 + 4_000);
    all.push(...d.alarm(T0 + 19_100));
    expect(d.state.reconnectAttempt).toBe(2);
    all.push(...d.send(T0 + 19_200, { type: "remote_failed", requestId: d.requestId, error: "token_expired" }));
    expect(d.state.nextReconnectAt).toBe(T0 + 19_200 + 9_000 + 500);
    expect(ofType(all, "request_token")).toEqual([]);
  });

  it("invalid_access_link is final: disconnected, no alarm, no more attempts", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectLink());
    const effects = d.send(T0 + 100, { type: "remote_failed", requestId: d.requestId, error: "invalid_access_link" });
    expect(d.state).toMatchObject({ status: "disconnected", reason: "invalid_access_link", error: "unknown" });
    expect(effects).toEqual([{ type: "broadcast" }, { type: "set_alarm", at: null }]);
    expect(d.alarm(T0 + HOUR)).toEqual([{ type: "set_alarm", at: null }]);
  });
});

describe("refresh before expiry", () => {
  it("refreshTime: the window ends 60 s before expiry (or halfway when shorter) and opens a tenth of the lifetime (at most 5 min) earlier; never in the past", () => {
    expect(refreshTime(T0, T0 + HOUR)).toBe(T0 + HOUR - 60_000);
    expect(refreshTime(T0, T0 + HOUR, 0.5)).toBe(T0 + HOUR - 60_000 - 150_000);
    expect(refreshTime(T0, T0 + HOUR, 0.999_999)).toBe(T0 + HOUR - 60_000 - 299_999);
    expect(refreshTime(T0, T0 + 120_000)).toBe(T0 + 60_000);
    expect(refreshTime(T0, T0 + 120_000, 0.5)).toBe(T0 + 60_000 - 6_000);
    expect(refreshTime(T0, T0 + 60_000)).toBe(T0 + 30_000);
    expect(refreshTime(T0, T0 + 1_001)).toBe(T0 + 501);
    expect(refreshTime(T0, T0)).toBe(T0);
    expect(refreshTime(T0, T0 - 5)).toBe(T0);
  });

  it("sessions that connect in the same second refresh at different times, each inside its window", () => {
    const times = [0.001, 0.2, 0.45, 0.7, 0.95].map((r) => connectedToken(T0 + HOUR, seq(r)).state.refreshAt!);
    expect(new Set(times).size).toBe(5);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(T0 + HOUR - 60_000 - 300_000);
      expect(t).toBeLessThanOrEqual(T0 + HOUR - 60_000);
    }
    expect(spreadOf(connectedToken(T0 + HOUR, seq(0.2)).state.nonce)).toBeCloseTo(0.2, 6);
  });

  it("after connect with expiresAt, the alarm is armed for refreshTime with the session's spread", () => {
    const d = connectedToken(T0 + HOUR);
    const at = refreshTime(T0 + 1_000, T0 + HOUR, spreadOf(d.state.nonce));
    expect(d.state).toMatchObject({ expiresAt: T0 + HOUR, refreshAt: at });
    expect(one(d.effects, "set_alarm").at).toBe(at);

    const short = connectedToken(T0 + 61_000);
    expect(short.state.refreshAt).toBe(refreshTime(T0 + 1_000, T0 + 61_000, spreadOf(short.state.nonce)));
  });

  it("at refreshAt a token cycle starts while connected, refreshing, with the current expiry", () => {
    const d = connectedToken(T0 + HOUR);
    const t = d.state.refreshAt!;
    expect(ofType(d.alarm(t - 1), "request_token")).toEqual([]);
    const effects = d.alarm(t);
    expect(one(effects, "request_token")).toMatchObject({ attempt: 1, userId: "alice", clientId: "tab", expiresAt: T0 + HOUR });
    expect(effects).toContainEqual({ type: "broadcast" });
    expect(d.state).toMatchObject({ status: "connected", refreshing: true, tokenAttempt: 1 });
    expect(d.state.refreshAt).toBeUndefined();
    expect(d.state.pendingToken?.deadline).toBe(t + 15_000);
  });

  it("a successful refresh updates expiresAt and the next refreshAt", () => {
    const d = connectedToken(T0 + HOUR);
    const t = d.state.refreshAt!;
    d.alarm(t);
    const requestId = d.requestId;
    d.send(t + 100, { type: "token_answer", clientId: "tab", requestId, token: "t2" });
    expect(d.state.status).toBe("connected");
    d.send(t + 200, { type: "remote_opened", requestId, userId: "alice", expiresAt: t + 2 * HOUR });
    expect(d.state).toMatchObject({
      status: "connected",
      refreshing: false,
      tokenAttempt: 0,
      expiresAt: t + 2 * HOUR,
      refreshAt: refreshTime(t + 200, t + 2 * HOUR, spreadOf(d.state.nonce)),
    });
  });

  it("a refresh retries like any token cycle, staying connected; when it is spent, reconnect runs", () => {
    const d = connectedToken(T0 + HOUR, seq(NONCE, 0, 0));
    const t = d.state.refreshAt!;
    d.alarm(t);
    d.send(t, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(d.state).toMatchObject({ status: "connected", refreshing: true, nextTokenAttemptAt: t + 1_000 });
    expect(one(d.alarm(t + 1_000), "request_token").attempt).toBe(2);
    d.send(t + 1_000, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(one(d.alarm(t + 5_000), "request_token").attempt).toBe(3);
    d.send(t + 5_000, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(d.state).toMatchObject({ status: "reconnecting", refreshing: false, reconnectAttempt: 1, tokenAttempt: 1 });
  });

  it("remote_token_expired while connected starts a token cycle at once", () => {
    const d = connectedToken(T0 + HOUR);
    const effects = d.send(T0 + 5_000, { type: "remote_token_expired" });
    expect(one(effects, "request_token")).toMatchObject({ attempt: 1, expiresAt: T0 + HOUR });
    expect(d.state).toMatchObject({ status: "connected", refreshing: true });
    expect(d.state.pendingToken?.deadline).toBe(T0 + 20_000);
    // A second notice during the cycle does not start another.
    expect(d.send(T0 + 6_000, { type: "remote_token_expired" })).toEqual([]);
  });

  it("remote_token_expired when not connected changes nothing", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(T0, connectToken("alice"));
    const before = structuredClone(d.state);
    expect(d.send(T0 + 100, { type: "remote_token_expired" })).toEqual([]);
    expect(d.state).toEqual(before);
  });

  it("a connection without expiresAt has no refresh", () => {
    const d = connectedToken();
    expect(d.state.refreshAt).toBeUndefined();
    expect(nextDue(d.state)).toBeUndefined();
  });
});

describe("transition is pure", () => {
  const events: SessionEvent[] = [
    { type: "connect_token", clientId: "a", userId: "alice", policy: DEFAULT_RETRY_POLICY },
    { type: "connect_link", clientId: "a", accessLink: LINK, policy: DEFAULT_RETRY_POLICY },
    { type: "token_answer", clientId: "a", requestId: "x", token: "t" },
    { type: "token_failure", clientId: "a", requestId: "x" },
    { type: "remote_opened", requestId: "x", userId: "alice" },
    { type: "remote_failed", requestId: "x", error: "unavailable" },
    { type: "remote_closed", requestId: "x" },
    { type: "remote_token_expired" },
    { type: "call_ended" },
    { type: "client_attached", clientId: "b" },
    { type: "client_left", clientId: "a" },
    { type: "alarm" },
    { type: "disconnect", clientId: "a", clearSavedData: true },
  ];

  function states(): SessionState[] {
    const connecting = new Driver(seq(NONCE), ["a"]);
    connecting.send(T0, connectToken("alice"));
    const opening = new Driver(seq(NONCE), ["a"]);
    opening.send(T0, connectToken("alice"));
    opening.send(T0, { type: "token_answer", clientId: "a", requestId: opening.requestId, token: "t" });
    const refreshing = connectedToken(T0 + HOUR);
    refreshing.send(T0 + 2_000, { type: "remote_token_expired" });
    const disconnecting = connectedToken(T0 + HOUR);
    disconnecting.send(T0 + 2_000, { type: "disconnect", clearSavedData: false });
    return [initialState(), connecting.state, opening.state, connectedToken(T0 + HOUR).state, refreshing.state, disconnecting.state, connectedLink().state];
  }

  it("never mutates its input state, for every event in every kind of state", () => {
    for (const state of states()) {
      for (const event of events) {
        for (const e of [event, { ...event, requestId: state.pendingToken?.requestId ?? state.pendingRemote?.requestId ?? "x" } as SessionEvent]) {
          const copy = structuredClone(state);
          transition(state, e, { now: T0 + HOUR, random: () => 0.5, clients: ["a"] });
          expect(state).toEqual(copy);
          // A frozen input is not written to either (a write would throw in strict mode).
          expect(() => transition(deepFreeze(structuredClone(state)), e, { now: T0 + HOUR, random: () => 0.5, clients: ["a"] })).not.toThrow();
        }
      }
    }
  });

  it("returns a new state object even when nothing changes", () => {
    const state = initialState();
    const r = transition(state, { type: "alarm" }, { now: T0, random: () => 0, clients: [] });
    expect(r.state).toEqual(state);
    expect(r.state).not.toBe(state);
  });
});

describe("user_deactivated (Kaleyra's signed webhook)", () => {
  it("ends an active token session with error user_inactive, final: no duty left", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(1_000, connectToken("alice"));
    const effects = d.send(2_000, { type: "user_deactivated" });
    expect(view(d.state)).toMatchObject({ status: "disconnected", error: "user_inactive", reason: "user_inactive" });
    expect(nextDue(d.state)).toBeUndefined();
    expect(effects).toContainEqual({ type: "set_alarm", at: null });
  });

  it("changes nothing for a session that is already disconnected", () => {
    const d = new Driver(seq(), []);
    const before = d.state;
    expect(d.send(1_000, { type: "user_deactivated" })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});

describe("notices about an earlier session", () => {
  it("a deactivation older than the session's connect is ignored (a retried delivery)", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(5_000, connectToken("alice"));
    const before = d.state;
    expect(d.send(6_000, { type: "user_deactivated", at: 4_000 })).toEqual([]);
    expect(d.state).toEqual(before);
    d.send(7_000, { type: "user_deactivated", at: 5_500 });
    expect(view(d.state)).toMatchObject({ status: "disconnected", error: "user_inactive" });
  });

  it("an open that succeeds after the session gave up on it is closed at once", () => {
    const d = new Driver(seq(NONCE), ["tab"]);
    d.send(1_000, connectToken("alice"));
    d.send(1_000, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    const lost = d.state.pendingRemote!.requestId;
    d.alarm(1_000 + 15_000); // the open's deadline: unreachable, reconnect 1 starts
    const before = d.state;
    const effects = d.send(17_000, { type: "remote_opened", requestId: lost, userId: "alice", remoteSessionId: "rs_late" });
    expect(effects).toEqual([{ type: "close_remote", requestId: lost, remoteSessionId: "rs_late" }]);
    expect(d.state).toEqual(before);
  });
});
