/**
 * The token cycle and the remote: token attempts and their sources, opening the Kaleyra connection
 * or updating its token, and what a failure does to the schedule (the seed's token retry, then the
 * infinite reconnect). Part of core/transition.ts.
 */
import { reconnectDelay, tokenAttemptDelay } from "./policy";
import { LIVENESS_CHECK_MS, refreshTime, spreadOf } from "./refresh";
import { SERVER_SOURCE, type Effect, type LastError, type RemoteError, type SessionEvent } from "./session";
import { clearDuties, dropLiveConnection, nextRequestId, policyOf, stale, type Draft } from "./transition-draft";
import { endProof, endSession, finishDisconnect } from "./transition-ending";

/** The first attempt of a connect or of a reconnect: a token cycle, or opening the link. */
export function startAttempt(d: Draft, at: number): void {
  if (d.s.mode === "access_link") return openRemote(d, at, { kind: "access_link", accessLink: d.s.accessLink ?? "" });
  d.s.tokenAttempt = 0;
  d.s.askedInCycle = [];
  startTokenAttempt(d, at);
}

export function startTokenAttempt(d: Draft, at: number): void {
  const s = d.s;
  // A proof's only source is its prover: with it gone (a restart lost its socket), nobody is left
  // to prove anything, so nothing runs on.
  if (s.proof && !d.ctx.clients.includes(s.proof.clientId)) return endProof(d);
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

export function tokenAnswer(d: Draft, requestId: string, token: string, clientId?: string): void {
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

export function remoteUpdated(d: Draft, requestId: string, expiresAt?: number): void {
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

/** A joining socket's token is on the live connection now (Kaleyra acked it): it is the session's token. */
export function tokenJoined(d: Draft, expiresAt?: number): void {
  const s = d.s;
  if (s.status !== "connected" || s.mode !== "token") return;
  if (expiresAt !== undefined) s.expiresAt = expiresAt;
  // A refresh still waiting for a token needs none now; one whose update is in flight finishes.
  if (s.refreshing && s.pendingRemote === undefined) {
    s.pendingToken = undefined;
    s.nextTokenAttemptAt = undefined;
    s.refreshing = false;
    s.tokenAttempt = 0;
    s.askedInCycle = [];
    s.lastError = undefined;
  }
  if (!s.refreshing) s.refreshAt = s.expiresAt === undefined ? undefined : refreshTime(d.ctx.now, s.expiresAt, spreadOf(s.nonce));
}

export function openRemote(d: Draft, at: number, credential: Extract<Effect, { type: "open_remote" }>["credential"], requestId = nextRequestId(d)): void {
  d.s.pendingRemote = { requestId, deadline: at + policyOf(d.s).tokenAttemptTimeoutMs, purpose: "open" };
  const fx: Effect = { type: "open_remote", requestId, credential };
  if (d.s.lastSocketId !== undefined) fx.previousSocketId = d.s.lastSocketId;
  d.fx.push(fx);
}

export function remoteOpened(d: Draft, e: Extract<SessionEvent, { type: "remote_opened" }>): void {
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
  s.lastSocketId = e.socketId;
  s.refreshAt = s.expiresAt === undefined ? undefined : refreshTime(now, s.expiresAt, spreadOf(s.nonce));
  s.livenessCheckAt = s.remoteSessionId === undefined ? undefined : now + LIVENESS_CHECK_MS;
  const proof = s.proof;
  if (proof || s.unclaimed) {
    // Kaleyra accepted it: now it is a real session, and takes its slot before anyone hears of it.
    s.proof = undefined;
    s.unclaimed = undefined;
    if (proof?.serverTokens !== undefined) s.serverTokens = proof.serverTokens;
    d.fx.push(proof ? { type: "claim_slot", prover: proof.clientId } : { type: "claim_slot" });
  }
}

/** `endAt` is when the open attempt ended: now for an answer, the deadline for a timeout. */
export function remoteFailed(d: Draft, requestId: string, error: RemoteError, endAt = d.ctx.now): void {
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
      return cycleFailed(d, now, "unavailable");
  }
}

/** A token attempt ended without a token the remote accepted; `endAt` is when it ended. */
export function tokenAttemptFailed(d: Draft, endAt: number, why: LastError): void {
  const s = d.s;
  s.pendingToken = undefined;
  s.lastError = why;
  const wait = tokenAttemptDelay(policyOf(s), s.tokenAttempt, d.ctx.random);
  if (wait === undefined) return cycleFailed(d, endAt, why);
  s.nextTokenAttemptAt = endAt + wait;
}

/** All token attempts failed, or the remote could not be reached: the reconnect schedule runs. */
export function cycleFailed(d: Draft, endAt: number, why: LastError): void {
  const s = d.s;
  s.lastError = why;
  dropLiveConnection(d);
  clearDuties(d);
  s.expiresAt = undefined;
  s.remoteSessionId = undefined;
  s.tokenAttempt = 0;
  s.status = "reconnecting";
  s.nextReconnectAt = endAt + reconnectDelay(policyOf(s), s.reconnectAttempt, d.ctx.random);
}

export function startReconnect(d: Draft, at: number): void {
  d.s.nextReconnectAt = undefined;
  d.s.reconnectAttempt += 1;
  startAttempt(d, at);
}

export function startRefresh(d: Draft, at: number): void {
  d.s.refreshAt = undefined;
  d.s.refreshing = true;
  startAttempt(d, at);
}

export function clientAttached(d: Draft, clientId: string): void {
  if (d.s.proof) return; // a proof's requests go to the prover only
  // A request that no source holds goes to the first client that arrives; it is the same attempt.
  // So does one whose holder is gone without a close event (the process restarted).
  const holder = d.s.pendingToken?.clientId;
  const orphaned = holder === undefined || (holder !== SERVER_SOURCE && !d.ctx.clients.includes(holder));
  if (d.s.pendingToken && orphaned) askClient(d, clientId);
}

export function clientLeft(d: Draft, clientId: string): void {
  // A prover that leaves takes its proof with it: nothing is left running.
  if (d.s.proof?.clientId === clientId) return endProof(d);
  // The request moves to another client at once, keeping its attempt number and deadline.
  if (d.s.pendingToken?.clientId === clientId) askClient(d, pickClient(d, clientId));
}
