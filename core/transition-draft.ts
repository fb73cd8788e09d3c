/**
 * The transition's working copy (a Draft: the state being built, the effects so far, the context)
 * and the small steps every part of the state machine shares. Internal to core/transition*.ts.
 */
import { initialState, type Effect, type SessionState, type TransitionContext } from "./session";

export interface Draft {
  s: SessionState;
  fx: Effect[];
  ctx: TransitionContext;
}

export function newNonce(random: () => number): string {
  return Math.floor(random() * 2 ** 32).toString(36).padStart(7, "0");
}

export function nextRequestId(d: Draft): string {
  d.s.seq += 1;
  return `${d.s.nonce}.${d.s.seq}`;
}

export function stale(d: Draft, requestId: string, clientId?: string): void {
  d.fx.push({ type: "reply_error", clientId, code: "token_request_stale", requestId });
}

export function clearDuties(d: Draft): void {
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
export function dropLiveConnection(d: Draft): void {
  const id = d.s.remoteSessionId;
  if (id !== undefined) d.fx.push({ type: "close_remote", requestId: `${d.s.nonce}.drop`, remoteSessionId: id });
}

export function policyOf(s: SessionState) {
  if (!s.policy) throw new Error("invariant: an active session has a retry policy");
  return s.policy;
}

/** A state with nothing running that keeps the request-id sequence (ids never repeat in one object). */
export function blankState(from: SessionState, nonce = from.nonce): SessionState {
  const next = initialState();
  next.seq = from.seq;
  next.nonce = nonce;
  return next;
}
