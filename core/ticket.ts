/**
 * The rules of attach tickets (the `ticket` proof, docs/protocol.md): HS256 JWTs a tenant signs
 * with the app's attachTicketSecret. The signature is checked by the session; these are the rules
 * on the claims and on reuse. Pure: the caller passes the time.
 * Invariants:
 * - A ticket lives at most MAX_TICKET_LIFETIME_SEC: one whose `exp` lies further ahead (an `exp`
 *   in milliseconds reads as about 50,000 years) is refused, whatever the tenant meant.
 * - Every ticket carries a `jti`, and a session accepts one `jti` once: it remembers the ids it
 *   accepted until their `exp`, at most MAX_REMEMBERED_TICKETS at a time (past that it refuses new
 *   tickets until some expire, rather than forget one that could then be used again).
 */

/** The longest a ticket may live: `exp` at most this far after the verifier's clock (plus skew). */
export const MAX_TICKET_LIFETIME_SEC = 300;
/** Allowance for a tenant's clock running ahead of ours. */
const TICKET_CLOCK_SKEW_SEC = 30;
/** Accepted tickets one session remembers at once (each for at most 5.5 minutes). */
export const MAX_REMEMBERED_TICKETS = 128;
const MAX_JTI_LENGTH = 128;

/** An accepted ticket: its id and when (ms) it expires, so it is remembered until then. */
export interface AcceptedTicket {
  jti: string;
  expMs: number;
}

/** The claims of a verified ticket, for this app's user, at `nowMs`: accepted, or why not. */
export function ticketClaims(claims: Record<string, unknown>, expected: { appId: string; userId: string }, nowMs: number): AcceptedTicket | undefined {
  const { appId, userId, exp, jti } = claims;
  if (appId !== expected.appId || userId !== expected.userId) return undefined;
  if (typeof exp !== "number" || !Number.isInteger(exp) || exp * 1_000 <= nowMs) return undefined;
  if (exp > Math.floor(nowMs / 1_000) + MAX_TICKET_LIFETIME_SEC + TICKET_CLOCK_SKEW_SEC) return undefined;
  if (typeof jti !== "string" || jti.length < 1 || jti.length > MAX_JTI_LENGTH) return undefined;
  return { jti, expMs: exp * 1_000 };
}

export type TicketUse = { ok: true; remembered: AcceptedTicket[] } | { ok: false; reason: "replayed" | "full" };

/**
 * A ticket's one use: refused when its id was accepted before and has not expired (a replay), or
 * when the memory is full; otherwise remembered, expired ids forgotten.
 */
export function useTicket(remembered: readonly AcceptedTicket[], ticket: AcceptedTicket, nowMs: number): TicketUse {
  const live = remembered.filter((t) => t.expMs > nowMs);
  if (live.some((t) => t.jti === ticket.jti)) return { ok: false, reason: "replayed" };
  if (live.length >= MAX_REMEMBERED_TICKETS) return { ok: false, reason: "full" };
  return { ok: true, remembered: [...live, ticket] };
}

/** When the next remembered ticket expires (so its memory can be dropped), or undefined. */
export function nextTicketExpiry(remembered: readonly AcceptedTicket[]): number | undefined {
  return remembered.length === 0 ? undefined : Math.min(...remembered.map((t) => t.expMs));
}
