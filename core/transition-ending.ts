/**
 * How a session ends: a requested disconnect (closing the live connection first), a final end
 * decided by Kaleyra, a proof that ends without a session. Part of core/transition.ts.
 */
import { view, type Effect, type SessionState } from "./session";
import { blankState, clearDuties, dropLiveConnection, nextRequestId, policyOf, type Draft } from "./transition-draft";

export function disconnect(d: Draft, clearSavedData: boolean): void {
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

/** A final disconnect decided by the remote: no retry loop, on the first CONNECT as on any later one. */
export function endSession(d: Draft, error: SessionState["error"], reason: SessionState["reason"]): void {
  const prover = d.s.proof?.clientId;
  if (prover !== undefined) {
    // A proof ends as a session would, but nothing of it stays: only its prover hears why.
    const { mode, userId } = d.s;
    endProof(d);
    d.fx.push({ type: "proof_view", clientId: prover, view: view({ ...d.s, mode, userId, error, reason }) });
    return;
  }
  dropLiveConnection(d);
  finishDisconnect(d, reason);
  d.s.error = error;
}

/** The proof ends without a session: back to a blank state, as if it had never started. */
export function endProof(d: Draft, code?: Extract<Effect, { type: "proof_failed" }>["code"]): void {
  const prover = d.s.proof?.clientId;
  clearDuties(d);
  d.s = blankState(d.s);
  if (prover !== undefined && code !== undefined) d.fx.push({ type: "proof_failed", clientId: prover, code });
}

export function finishDisconnect(d: Draft, reason: SessionState["reason"] = "requested"): void {
  // A proven client's disconnect ends a pending proof too; the prover may prove again.
  const prover = d.s.proof?.clientId;
  if (prover !== undefined) d.fx.push({ type: "proof_failed", clientId: prover, code: "auth_required" });
  const clear = d.s.clearOnDisconnect;
  clearDuties(d);
  const next = blankState(d.s);
  if (!clear) {
    next.mode = d.s.mode;
    next.userId = d.s.userId;
    next.policy = d.s.policy;
  }
  next.reason = reason;
  d.s = next;
  if (clear) d.fx.push({ type: "clear_data" });
}
