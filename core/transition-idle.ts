/**
 * The app's upstream policy "grace" (core/upstream.ts) in the state machine. Part of
 * core/transition.ts. The session keeps running whatever happens here (the seed's keep-alive: from
 * connect until disconnect or reset): only its Kaleyra connection closes while nobody is attached.
 * - While the session is active and no client is attached, `idleAt` is set `graceMs` after the
 *   moment it noticed (the last client left, or it connected with none), once: a reconnect in
 *   between does not move it.
 * - At `idleAt`, still with no client: the connection is closed and every duty cleared; the
 *   session shows `reconnecting` with `lastError: "idle"` and nothing scheduled (`idle`).
 * - A client attached clears `idleAt`; an idle session then runs reconnect attempt 1 at once.
 * - A pending proof is nobody's session: it has no policy of its own.
 */
import { isActive } from "./session";
import { startReconnect } from "./transition-cycle";
import { clearDuties, dropLiveConnection, type Draft } from "./transition-draft";

/** Runs after every event: sets, clears or leaves the idle duty, and wakes an idle session. */
export function applyIdlePolicy(d: Draft): void {
  const s = d.s;
  if (s.graceMs === undefined || !isActive(s) || s.proof) {
    s.idleAt = undefined;
    return;
  }
  if (d.ctx.clients.length > 0) {
    s.idleAt = undefined;
    if (s.idle) {
      s.idle = undefined;
      s.lastError = undefined;
      s.reconnectAttempt = 0;
      startReconnect(d, d.ctx.now);
    }
    return;
  }
  if (!s.idle && s.idleAt === undefined) s.idleAt = d.ctx.now + s.graceMs;
}

/** The idle duty fell due: with still no client, the connection closes and the session waits. */
export function goIdle(d: Draft): void {
  const s = d.s;
  s.idleAt = undefined;
  if (d.ctx.clients.length > 0) return;
  dropLiveConnection(d);
  clearDuties(d);
  s.expiresAt = undefined;
  s.remoteSessionId = undefined;
  s.tokenAttempt = 0;
  s.reconnectAttempt = 0;
  s.askedInCycle = [];
  s.status = "reconnecting";
  s.lastError = "idle";
  s.idle = true;
}
