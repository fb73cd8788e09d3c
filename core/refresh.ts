/**
 * When to refresh a token before it expires, and how often to check the live connection.
 *
 * Refresh: in a window that ends one minute before expiry (or halfway through the remaining
 * lifetime when that is shorter, so short test tokens refresh too) and opens up to a tenth of the
 * remaining lifetime (at most 5 minutes) earlier. Where in the window a session refreshes is its
 * `spread`, a fraction in [0, 1) fixed per connect (drawn from the session's random nonce), so
 * sessions that connected in the same second refresh at different times an hour later, while one
 * session's schedule stays exactly reproducible. Never in the past.
 */
const REFRESH_LEAD_MS = 60_000;
const REFRESH_WINDOW_MAX_MS = 5 * 60_000;

/**
 * How often a connected session asks whether its Kaleyra connection is still held. A safety check,
 * not the heartbeat: the connector holding the connection answers Kaleyra's pings, notices a silent
 * connection and reports every loss, its own restarts included (docs/architecture.md). This check
 * finds the rare loss whose report never arrived (a refresh finds it too: the update fails). Each
 * check wakes the hibernated session, so it is rare: its cost is in docs/performance.md.
 */
export const LIVENESS_CHECK_MS = 6 * 3_600_000;

export function refreshTime(now: number, expiresAt: number, spread = 0): number {
  const remaining = expiresAt - now;
  if (remaining <= 0) return now;
  const latest = expiresAt - Math.min(REFRESH_LEAD_MS, Math.floor(remaining / 2));
  const window = Math.min(REFRESH_WINDOW_MAX_MS, Math.floor(remaining / 10));
  return Math.max(now, latest - Math.floor(spread * window));
}

/** A session's refresh spread, in [0, 1), from its nonce (base-36 of a uniform 32-bit draw). */
export function spreadOf(nonce: string): number {
  const n = parseInt(nonce, 36);
  return Number.isFinite(n) ? (n % 2 ** 32) / 2 ** 32 : 0;
}
