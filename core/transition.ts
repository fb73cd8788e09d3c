/**
 * The session state machine: transition(state, event, ctx) -> { state, effects }.
 * Pure: time, randomness and the list of attached clients come in through ctx; every side effect
 * goes out as data for the Durable Object to perform. The input state is never mutated.
 * Before and after each event, every duty that is due at ctx.now runs, in order, so a late alarm (or
 * one that fires after a restart) catches up on the schedule exactly as if it had fired on time, and
 * an event that arrives before a late alarm meets the state the on-time alarm would have left.
 */
import { sameAccessLink } from "./access-link";
import { LIVENESS_CHECK_MS } from "./refresh";
import {
  isActive,
  nextDue,
  view,
  type Effect,
  type SessionEvent,
  type SessionState,
  type TransitionContext,
} from "./session";
import {
  clientAttached,
  clientLeft,
  cycleFailed,
  openRemote,
  remoteFailed,
  remoteOpened,
  remoteUpdated,
  startAttempt,
  startReconnect,
  startRefresh,
  startTokenAttempt,
  tokenAnswer,
  tokenAttemptFailed,
  tokenJoined,
} from "./transition-cycle";
import { blankState, dropLiveConnection, newNonce, stale, type Draft } from "./transition-draft";
import { disconnect, endProof, endSession, finishDisconnect } from "./transition-ending";
import { applyIdlePolicy, goIdle } from "./transition-idle";

export interface Transition {
  state: SessionState;
  effects: Effect[];
}

/** Caps the catch-up loop; a schedule never has this many duties due at one instant. */
const MAX_DUE_STEPS = 64;

export function transition(state: SessionState, event: SessionEvent, ctx: TransitionContext): Transition {
  const d: Draft = { s: structuredClone(state), fx: [], ctx };
  // Duties already due come first: an answer after its attempt's deadline is late even when the
  // alarm has not fired yet.
  runDue(d);
  apply(d, event);
  runDue(d);
  applyIdlePolicy(d);
  dropSupersededRequests(d);
  const due = nextDue(d.s);
  // The alarm that just fired is spent, so it is re-armed even when the due time looks unchanged.
  if (event.type === "alarm" || due !== nextDue(state)) d.fx.push({ type: "set_alarm", at: due ?? null });
  announce(d, state);
  return { state: d.s, effects: d.fx };
}

/**
 * Who hears of the change, first (a client sees "connecting" before its token request): a proof
 * is nobody's session yet, so only its prover hears of it; a session Kaleyra accepted for the
 * first time is announced once its slot is claimed (claim_slot); anything else goes to every client.
 */
function announce(d: Draft, before: SessionState): void {
  const changed = JSON.stringify(view(d.s)) !== JSON.stringify(view(before));
  const prover = d.s.proof?.clientId;
  if (prover !== undefined) {
    if (changed || before.proof?.clientId !== prover) d.fx.unshift({ type: "proof_view", clientId: prover, view: view(d.s) });
  } else if (d.fx.some((fx) => fx.type === "claim_slot")) {
    return;
  } else if (changed || before.proof !== undefined) {
    // A proof that ended is news to the clients only as the state they now have (they never saw it).
    d.fx.unshift({ type: "broadcast" });
  }
}

function apply(d: Draft, e: SessionEvent): void {
  switch (e.type) {
    case "connect_token":
    case "connect_link":
      return connect(d, e);
    case "token_answer":
      return tokenAnswer(d, e.requestId, e.token, e.clientId);
    case "token_failure":
      // Only the client that holds the request can fail it: a stray failure must not cut short an
      // attempt that the asked client may still answer. A success from any client wins.
      if (d.s.pendingToken?.requestId !== e.requestId || d.s.pendingToken.clientId !== e.clientId) {
        return stale(d, e.requestId, e.clientId);
      }
      return tokenAttemptFailed(d, d.ctx.now, e.cause ?? "token_failed");
    case "remote_opened":
      return remoteOpened(d, e);
    case "remote_failed":
      return remoteFailed(d, e.requestId, e.error);
    case "remote_closed":
      if (d.s.pendingRemote?.purpose === "close" && d.s.pendingRemote.requestId === e.requestId) finishDisconnect(d);
      return;
    case "remote_lost":
      // Kaleyra ends a link's connection when its call ends: that is the call's end, not a drop.
      if (e.byServer === true && d.s.mode === "access_link") return callEnded(d);
      // The remote session dropped while up: the reconnect schedule runs, as when it is unreachable.
      if (d.s.status === "connected") cycleFailed(d, d.ctx.now, "remote_lost");
      return;
    case "remote_token_expired":
    case "remote_token_expiring":
      // Kaleyra's word comes before the session's own refresh time, whichever is first.
      if (d.s.status === "connected" && d.s.mode === "token" && !d.s.refreshing) startRefresh(d, d.ctx.now);
      return;
    case "remote_updated":
      return remoteUpdated(d, e.requestId, e.expiresAt);
    case "remote_token_joined":
      return tokenJoined(d, e.expiresAt);
    case "user_deactivated":
      // A (retried) notice older than this session is about an earlier one: the user was active again.
      if (e.at !== undefined && d.s.startedAt !== undefined && e.at < d.s.startedAt) return;
      // A proof's own CONNECT says so if it concerns it; a webhook must not tell an unproven socket.
      if (d.s.proof) return;
      if (d.s.mode === "token" && d.s.status !== "disconnected") endSession(d, "user_inactive", "user_inactive");
      return;
    case "call_ended":
      return callEnded(d);
    case "client_attached":
      return clientAttached(d, e.clientId);
    case "client_left":
      return clientLeft(d, e.clientId);
    case "alarm":
      return; // runDue does the work
    case "disconnect":
      return disconnect(d, e.clearSavedData);
  }
}

function connect(d: Draft, e: Extract<SessionEvent, { type: "connect_token" | "connect_link" }>): void {
  const s = d.s;
  const mode = e.type === "connect_token" ? "token" : "access_link";
  const proof = e.type === "connect_token" && e.clientId !== undefined ? e.proof : undefined;
  if (s.status === "disconnecting") {
    // The closing session must end first: starting anew here would drop the clear it may owe. A
    // prover learns only that it may retry.
    if (proof !== undefined && e.clientId !== undefined) d.fx.push({ type: "proof_failed", clientId: e.clientId, code: "unavailable" });
    else d.fx.push({ type: "reply_error", clientId: e.clientId, code: "session_conflict" });
    return;
  }
  // A proven client's connect takes over from a pending proof; the prover proves again.
  if (s.proof && proof === undefined) endProof(d, "auth_required");
  if (isActive(d.s)) {
    const s = d.s;
    const same = mode === s.mode && (mode === "token"
      ? s.userId === (e as { userId: string }).userId
      : sameAccessLink(s.accessLink ?? "", (e as { accessLink: string }).accessLink));
    // Another tab connecting the same session joins it; anything else must wait for disconnect.
    if (!same) d.fx.push({ type: "reply_error", clientId: e.clientId, code: "session_conflict" });
    return;
  }
  const fresh = blankState(s, newNonce(d.ctx.random));
  fresh.status = "connecting";
  fresh.startedAt = d.ctx.now;
  fresh.mode = mode;
  fresh.policy = e.policy;
  if (e.graceMs !== undefined) fresh.graceMs = e.graceMs;
  if (e.type === "connect_token") {
    fresh.userId = e.userId;
    if (proof !== undefined && e.clientId !== undefined) {
      fresh.proof = e.serverTokens === undefined ? { clientId: e.clientId } : { clientId: e.clientId, serverTokens: e.serverTokens };
    } else if (e.serverTokens !== undefined) fresh.serverTokens = e.serverTokens;
  } else {
    fresh.accessLink = e.accessLink;
    fresh.unclaimed = true;
  }
  d.s = fresh;
  if (fresh.proof && proof?.token !== undefined) {
    // The token came with the proof: it is attempt 1, answered at once.
    fresh.tokenAttempt = 1;
    fresh.askedInCycle = [fresh.proof.clientId];
    return openRemote(d, d.ctx.now, { kind: "token", userId: fresh.userId ?? "", token: proof.token });
  }
  startAttempt(d, d.ctx.now);
}

/** An access link's call ended (a webhook, or Kaleyra closing its connection): the session ends and its data goes. */
function callEnded(d: Draft): void {
  if (d.s.mode !== "access_link" || d.s.status === "disconnected") return;
  d.s.clearOnDisconnect = true;
  if (d.s.status !== "disconnecting") dropLiveConnection(d);
  finishDisconnect(d, "call_ended");
}

/**
 * A catch-up may start and time out several attempts in one transition; only the request still
 * pending is worth sending, or clients would answer requests that are already stale.
 */
function dropSupersededRequests(d: Draft): void {
  const live = new Set([d.s.pendingToken?.requestId, d.s.pendingRemote?.requestId]);
  d.fx = d.fx.filter((fx) => (fx.type !== "request_token" && fx.type !== "open_remote") || live.has(fx.requestId));
}

/** Runs every duty due at ctx.now, oldest first, each at its own due time. */
function runDue(d: Draft): void {
  for (let i = 0; i < MAX_DUE_STEPS; i++) {
    const s = d.s;
    const at = nextDue(s);
    if (at === undefined || at > d.ctx.now) return;
    if (s.pendingRemote?.deadline === at) {
      // No answer in time: the remote could not be reached (or, when closing, is gone anyway).
      if (s.pendingRemote.purpose === "close") finishDisconnect(d);
      else remoteFailed(d, s.pendingRemote.requestId, "unavailable", at);
    } else if (s.pendingToken?.deadline === at) tokenAttemptFailed(d, at, "token_timeout");
    else if (s.nextTokenAttemptAt === at) startTokenAttempt(d, at);
    else if (s.nextReconnectAt === at) startReconnect(d, at);
    else if (s.refreshAt === at) startRefresh(d, at);
    else if (s.idleAt === at) goIdle(d);
    else if (s.livenessCheckAt === at) {
      // Counted from now, not from the due time: a late alarm checks once, it does not catch up.
      s.livenessCheckAt = d.ctx.now + LIVENESS_CHECK_MS;
      if (s.remoteSessionId !== undefined) d.fx.push({ type: "check_remote", remoteSessionId: s.remoteSessionId });
    }
  }
}
