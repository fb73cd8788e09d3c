/**
 * When to refresh a token before it expires: one minute before expiry, or halfway through the
 * remaining lifetime when that is shorter (so short test tokens refresh too), never in the past.
 */
export const REFRESH_LEAD_MS = 60_000;

export function refreshTime(now: number, expiresAt: number): number {
  const remaining = expiresAt - now;
  if (remaining <= 0) return now;
  return expiresAt - Math.min(REFRESH_LEAD_MS, Math.floor(remaining / 2));
}
