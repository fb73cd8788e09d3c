/**
 * The session state machine: transition(state, event, ctx) -> { state, effects }.
 * Pure: time, randomness and the list of attached clients come in through ctx; every side effect
 * goes out as data for the Durable Object to perform. The input state is never mutated.
 * Before and after each event, every duty that is due at ctx.now runs, in order, so a late alarm (or
 * one that fires after a restart) catches up on the schedule exactly as if it had fired on time, and
 * an event that arrives before a late alarm meets the state the on-time alarm would have left.
 */
import { sameAccessLink } from "./access-link";
import { reconnectDelay, tokenAttemptDelay } from "./policy";
import { LIVENESS_CHECK_MS, refreshTime, spreadOf } from "./refresh";
import {
  SERVER_SOURCE,
  initialState,
  isActive,
  nextDue,
  view,
  type Effect,
  type LastError,
  type RemoteError,
  type SessionEvent,
  type SessionState,
  type TransitionContext,
} from "./session";

export interface Transition {
  state: SessionState;
  effects: Effect[];
}

/** Caps the catch-up loop; a schedule never has this many duties due at one instant. */
const MAX_DUE_STEPS = 64;

interface Draft {
  s: SessionState;
  fx: Effect[];
  ctx: TransitionContext;
}

export function transition(state: SessionState, event: SessionEvent, ctx: TransitionContext): Transition {
  const d: Draft = { s: structuredClone(state), fx: [], ctx };
  // Duties already due come first: an answer after its attempt's deadline is late even when the
  // alarm has not fired yet.
  runDue(d);
  apply(d, event);
  runDue(d);
  dropSupersededRequests(d);
  const due = nextDue(d.s);
  // The alarm that just fired is spent, so it is re-armed even when the due time looks unchanged.
  if (event.type === "alarm" || due !== nextDue(state)) d.fx.push({ type: "set_alarm", at: due ?? null });
  // The new state goes out before any request, so a client sees "connecting" before its token request.
  if (JSON.stringify(view(d.s)) !== JSON.stringify(view(state))) d.fx.unshift({ type: "broadcast" });
  return { state: d.s, effects: d.fx };
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
      return tokenAttemptFailed(d, d.ctx.now, "token_failed");
    case "remote_opened":
      return remoteOpened(d, e);
    case "remote_failed":
      return remoteFailed(d, e.requestId, e.error);
    case "remote_closed":
      if (d.s.pendingRemote?.purpose === "close" && d.s.pendingRemote.requestId === e.requestId) finishDisconnect(d);
      return;
    case "remote_lost":
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
    case "user_deactivated":
      // A (retried) notice older than this session is about an earlier one: the user was active again.
      if (e.at !== undefined && d.s.startedAt !== undefined && e.at < d.s.startedAt) return;
      if (d.s.mode === "token" && d.s.status !== "disconnected") endSession(d, "user_inactive", "user_inactive");
      return;
    case "call_ended":
      if (d.s.mode === "access_link" && d.s.status !== "disconnected") {
        d.s.clearOnDisconnect = true;
        if (d.s.status !== "disconnecting") dropLiveConnection(d);
        finishDisconnect(d, "call_ended");
      }
      return;
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
  const proofToken = e.type === "connect_token" ? e.proofToken : undefined;
  if (s.status === "disconnecting") {
    // The closing session must end first: starting anew here would drop the clear it may owe. A
    // prover learns only that it may retry.
    if (proofToken !== undefined && e.clientId !== undefined) d.fx.push({ type: "proof_failed", clientId: e.clientId, code: "unavailable" });
    else d.fx.push({ type: "reply_error", clientId: e.clientId, code: "session_conflict" });
    return;
  }
  // A proven client's connect takes over from a pending proof; the prover proves again.
  if (s.proof && proofToken === undefined) endProof(d, "auth_required");
  if (isActive(d.s)) {
    const s = d.s;
    const same = mode === s.mode && (mode === "token"
      ? s.userId === (e as { userId: string }).userId
      : sameAccessLink(s.accessLink ?? "", (e as { accessLink: string }).accessLink));
    // Another tab connecting the same session joins it; anything else must wait for disconnect.
    if (!same) d.fx.push({ type: "reply_error", clientId: e.clientId, code: "session_conflict" });
    return;
  }
  const fresh = initialState();
  fresh.seq = s.seq;
  fresh.nonce = newNonce(d.ctx.random);
  fresh.status = "connecting";
  fresh.startedAt = d.ctx.now;
  fresh.mode = mode;
  fresh.policy = e.policy;
  if (e.type === "connect_token") {
    fresh.userId = e.userId;
    if (proofToken !== undefined && e.clientId !== undefined) {
      fresh.proof = e.serverTokens === undefined ? { clientId: e.clientId } : { clientId: e.clientId, serverTokens: e.serverTokens };
    } else if (e.serverTokens !== undefined) fresh.serverTokens = e.serverTokens;
  } else fresh.accessLink = e.accessLink;
  d.s = fresh;
  if (fresh.proof && proofToken !== undefined) {
    // The token came with the proof: it is attempt 1, answered at once.
    fresh.tokenAttempt = 1;
    fresh.askedInCycle = [fresh.proof.clientId];
    return openRemote(d, d.ctx.now, { kind: "token", userId: fresh.userId ?? "", token: proofToken });
  }
  startAttempt(d, d.ctx.now);
}

function newNonce(random: () => number): string {
  return Math.floor(random() * 2 ** 32).toString(36).padStart(7, "0");
}

function nextRequestId(d: Draft): string {
  d.s.seq += 1;
  return `${d.s.nonce}.${d.s.seq}`;
}

/** The first attempt of a connect or of a reconnect: a token cycle, or opening the link. */
function startAttempt(d: Draft, at: number): void {
  if (d.s.mode === "access_link") return openRemote(d, at, { kind: "access_link", accessLink: d.s.accessLink ?? "" });
  d.s.tokenAttempt = 0;
  d.s.askedInCycle = [];
  startTokenAttempt(d, at);
}

function startTokenAttempt(d: Draft, at: number): void {
  const s = d.s;
  s.nextTokenAttemptAt = undefined;
  s.tokenAttempt += 1;
  const requestId = nextRequestId(d);
  s.pendingToken = { requestId, attempt: s.tokenAttempt, deadline: at + policyOf(s).tokenAttemptTimeoutMs };
  askClient(d, pickClient(d));
}

/**
 * The token sources in the app's order: attached clients oldest first, and the server-side source
 * before them ("first") or after them ("fallback"). Picks the first not yet asked in this cycle,
 * else the first of all.
 */
function pickClient(d: Draft, excluding?: string): string | undefined {
  // A proof has one source: the socket proving itself.
  const prover = d.s.proof?.clientId;
  if (prover !== undefined) return prover !== excluding && d.ctx.clients.includes(prover) ? prover : undefined;
  const server = d.s.serverTokens === undefined ? [] : [SERVER_SOURCE];
  const ordered = d.s.serverTokens === "first" ? [...server, ...d.ctx.clients] : [...d.ctx.clients, ...server];
  const candidates = ordered.filter((c) => c !== excluding);
  return candidates.find((c) => !d.s.askedInCycle.includes(c)) ?? candidates[0];
}

function askClient(d: Draft, clientId: string | undefined): void {
  const p = d.s.pendingToken;
  if (!p) return;
  p.clientId = clientId;
  if (clientId !== undefined && !d.s.askedInCycle.includes(clientId)) d.s.askedInCycle.push(clientId);
  const fx: Effect = { type: "request_token", requestId: p.requestId, userId: d.s.userId ?? "", attempt: p.attempt };
  if (clientId !== undefined) fx.clientId = clientId;
  if (d.s.expiresAt !== undefined) fx.expiresAt = d.s.expiresAt;
  d.fx.push(fx);
}

function tokenAnswer(d: Draft, requestId: string, token: string, clientId?: string): void {
  const s = d.s;
  if (s.pendingToken?.requestId !== requestId) return stale(d, requestId, clientId);
  // A proof is answered only by the prover: its token proves the user, nobody else's may.
  if (s.proof && clientId !== s.proof.clientId) return stale(d, requestId, clientId);
  s.pendingToken = undefined;
  // A refresh gives the live connection its new token; anything else opens the connection.
  if (s.status === "connected" && s.remoteSessionId !== undefined) {
    s.pendingRemote = { requestId, deadline: d.ctx.now + policyOf(s).tokenAttemptTimeoutMs, purpose: "update" };
    d.fx.push({ type: "update_remote", requestId, remoteSessionId: s.remoteSessionId, token });
    return;
  }
  openRemote(d, d.ctx.now, { kind: "token", userId: s.userId ?? "", token }, requestId);
}

function remoteUpdated(d: Draft, requestId: string, expiresAt?: number): void {
  const s = d.s;
  if (s.pendingRemote?.purpose !== "update" || s.pendingRemote.requestId !== requestId) return;
  s.pendingRemote = undefined;
  s.refreshing = false;
  s.tokenAttempt = 0;
  s.askedInCycle = [];
  s.lastError = undefined;
  if (expiresAt !== undefined) s.expiresAt = expiresAt;
  s.refreshAt = s.expiresAt === undefined ? undefined : refreshTime(d.ctx.now, s.expiresAt, spreadOf(s.nonce));
}

function stale(d: Draft, requestId: string, clientId?: string): void {
  d.fx.push({ type: "reply_error", clientId, code: "token_request_stale", requestId });
}

function openRemote(d: Draft, at: number, credential: Extract<Effect, { type: "open_remote" }>["credential"], requestId = nextRequestId(d)): void {
  d.s.pendingRemote = { requestId, deadline: at + policyOf(d.s).tokenAttemptTimeoutMs, purpose: "open" };
  d.fx.push({ type: "open_remote", requestId, credential });
}

function remoteOpened(d: Draft, e: Extract<SessionEvent, { type: "remote_opened" }>): void {
  const { requestId, userId, expiresAt } = e;
  const s = d.s;
  if (s.pendingRemote?.purpose !== "open" || s.pendingRemote.requestId !== requestId) {
    // An open the session gave up on succeeded after all: nobody will use that remote session.
    if (e.remoteSessionId !== undefined) d.fx.push({ type: "close_remote", requestId, remoteSessionId: e.remoteSessionId });
    return;
  }
  // A token of another user is as good as no token: the attempt failed.
  if (s.mode === "token" && userId !== s.userId) return remoteFailed(d, requestId, "token_invalid");
  const now = d.ctx.now;
  s.pendingRemote = undefined;
  s.status = "connected";
  s.userId = userId;
  s.error = undefined;
  s.reason = undefined;
  s.lastError = undefined;
  s.tokenAttempt = 0;
  s.reconnectAttempt = 0;
  s.refreshing = false;
  s.askedInCycle = [];
  s.expiresAt = s.mode === "token" ? expiresAt : undefined;
  s.remoteSessionId = e.remoteSessionId;
  s.refreshAt = s.expiresAt === undefined ? undefined : refreshTime(now, s.expiresAt, spreadOf(s.nonce));
  s.livenessCheckAt = s.remoteSessionId === undefined ? undefined : now + LIVENESS_CHECK_MS;
  const proof = s.proof;
  if (proof) {
    s.proof = undefined;
    if (proof.serverTokens !== undefined) s.serverTokens = proof.serverTokens;
    d.fx.push({ type: "proof_succeeded", clientId: proof.clientId });
  }
}

/** `endAt` is when the open attempt ended: now for an answer, the deadline for a timeout. */
function remoteFailed(d: Draft, requestId: string, error: RemoteError, endAt = d.ctx.now): void {
  const s = d.s;
  if (s.pendingRemote?.requestId !== requestId) return;
  if (s.pendingRemote.purpose === "close") return finishDisconnect(d);
  s.pendingRemote = undefined;
  const now = endAt;
  switch (error) {
    case "token_expired":
    case "token_invalid":
    case "user_not_found":
      // The provider's token was refused (a refused update too): that attempt failed, the cycle goes on.
      return s.mode === "token" ? tokenAttemptFailed(d, now, error) : cycleFailed(d, now, "unavailable");
    case "user_inactive":
      return endSession(d, "user_inactive", "user_inactive");
    case "unsupported_version":
      return endSession(d, "unsupported_version", "unsupported_version");
    case "invalid_access_link":
      return endSession(d, "unknown", "invalid_access_link");
    case "unavailable":
      // A proof does not enter the reconnect schedule: nothing is left running, the prover retries.
      return s.proof ? endProof(d, "unavailable") : cycleFailed(d, now, "unavailable");
  }
}

/** A token attempt ended without a token the remote accepted; `endAt` is when it ended. */
function tokenAttemptFailed(d: Draft, endAt: number, why: LastError): void {
  const s = d.s;
  s.pendingToken = undefined;
  s.lastError = why;
  const wait = tokenAttemptDelay(policyOf(s), s.tokenAttempt, d.ctx.random);
  if (wait === undefined) return cycleFailed(d, endAt, why);
  s.nextTokenAttemptAt = endAt + wait;
}

/** All token attempts failed, or the remote could not be reached: the reconnect schedule runs. */
function cycleFailed(d: Draft, endAt: number, why: LastError): void {
  const s = d.s;
  if (s.proof) return endProof(d, "auth_failed");
  s.lastError = why;
  dropLiveConnection(d);
  clearDuties(d);
  s.expiresAt = undefined;
  s.remoteSessionId = undefined;
  s.tokenAttempt = 0;
  s.status = "reconnecting";
  s.nextReconnectAt = endAt + reconnectDelay(policyOf(s), s.reconnectAttempt, d.ctx.random);
}

function startReconnect(d: Draft, at: number): void {
  d.s.nextReconnectAt = undefined;
  d.s.reconnectAttempt += 1;
  startAttempt(d, at);
}

function startRefresh(d: Draft, at: number): void {
  d.s.refreshAt = undefined;
  d.s.refreshing = true;
  startAttempt(d, at);
}

function clientAttached(d: Draft, clientId: string): void {
  if (d.s.proof) return; // a proof's requests go to the prover only
  // A request that no source holds goes to the first client that arrives; it is the same attempt.
  // So does one whose holder is gone without a close event (the process restarted).
  const holder = d.s.pendingToken?.clientId;
  const orphaned = holder === undefined || (holder !== SERVER_SOURCE && !d.ctx.clients.includes(holder));
  if (d.s.pendingToken && orphaned) askClient(d, clientId);
}

function clientLeft(d: Draft, clientId: string): void {
  // A prover that leaves takes its proof with it: nothing is left running.
  if (d.s.proof?.clientId === clientId) return endProof(d);
  // The request moves to another client at once, keeping its attempt number and deadline.
  if (d.s.pendingToken?.clientId === clientId) askClient(d, pickClient(d, clientId));
}

function disconnect(d: Draft, clearSavedData: boolean): void {
  const s = d.s;
  s.clearOnDisconnect = s.clearOnDisconnect || clearSavedData;
  if (s.status === "disconnected") {
    if (s.clearOnDisconnect) finishDisconnect(d, s.reason);
    return;
  }
  if (s.status === "disconnecting") return;
  const hadRemote = s.status === "connected";
  clearDuties(d);
  if (!hadRemote) return finishDisconnect(d);
  s.status = "disconnecting";
  const requestId = nextRequestId(d);
  s.pendingRemote = { requestId, deadline: d.ctx.now + policyOf(s).tokenAttemptTimeoutMs, purpose: "close" };
  const close: Effect = { type: "close_remote", requestId };
  if (s.remoteSessionId !== undefined) close.remoteSessionId = s.remoteSessionId;
  d.fx.push(close);
}

function clearDuties(d: Draft): void {
  const s = d.s;
  s.pendingToken = undefined;
  s.pendingRemote = undefined;
  s.nextTokenAttemptAt = undefined;
  s.nextReconnectAt = undefined;
  s.refreshAt = undefined;
  s.livenessCheckAt = undefined;
  s.refreshing = false;
}

/** A live connection the session gives up (reconnecting, or ended by Kaleyra) is closed; nobody waits for the answer. */
function dropLiveConnection(d: Draft): void {
  const id = d.s.remoteSessionId;
  if (id !== undefined) d.fx.push({ type: "close_remote", requestId: `${d.s.nonce}.drop`, remoteSessionId: id });
}

/** A final disconnect decided by the remote: no retry loop. */
function endSession(d: Draft, error: SessionState["error"], reason: SessionState["reason"]): void {
  if (d.s.proof) return endProof(d, "auth_failed");
  dropLiveConnection(d);
  finishDisconnect(d, reason);
  d.s.error = error;
}

/** The proof ends without a session: back to a blank state, as if it had never started. */
function endProof(d: Draft, code?: Extract<Effect, { type: "proof_failed" }>["code"]): void {
  const prover = d.s.proof?.clientId;
  clearDuties(d);
  const next = initialState();
  next.seq = d.s.seq;
  next.nonce = d.s.nonce;
  d.s = next;
  if (prover !== undefined && code !== undefined) d.fx.push({ type: "proof_failed", clientId: prover, code });
}

function finishDisconnect(d: Draft, reason: SessionState["reason"] = "requested"): void {
  // A proven client's disconnect ends a pending proof too; the prover may prove again.
  const prover = d.s.proof?.clientId;
  if (prover !== undefined) d.fx.push({ type: "proof_failed", clientId: prover, code: "auth_required" });
  const clear = d.s.clearOnDisconnect;
  clearDuties(d);
  const next = initialState();
  next.seq = d.s.seq;
  next.nonce = d.s.nonce;
  if (!clear) {
    next.mode = d.s.mode;
    next.userId = d.s.userId;
    next.policy = d.s.policy;
  }
  next.reason = reason;
  d.s = next;
  if (clear) d.fx.push({ type: "clear_data" });
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
    else if (s.livenessCheckAt === at) {
      // Counted from now, not from the due time: a late alarm checks once, it does not catch up.
      s.livenessCheckAt = d.ctx.now + LIVENESS_CHECK_MS;
      if (s.remoteSessionId !== undefined) d.fx.push({ type: "check_remote", remoteSessionId: s.remoteSessionId });
    }
  }
}

function policyOf(s: SessionState) {
  if (!s.policy) throw new Error("invariant: an active session has a retry policy");
  return s.policy;
}
