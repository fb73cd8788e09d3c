/**
 * The session's memory of the attach tickets it accepted (rules in core/ticket.ts), in its own
 * storage: a session object is one user's, so a ticket's one use is decided where the user is.
 * Invariants:
 * - Ids are stored as SHA-256 digests (the tenant chooses the `jti`; nothing of it is kept).
 * - The memory outlives a clear (disconnect with clearSavedData, the app's removal) until its
 *   tickets expire, at most 5.5 minutes: a clear must not make a used ticket good again. It is
 *   dropped by the session's alarm when the last one expires, so no storage stays behind.
 */
import { nextTicketExpiry, useTicket, type AcceptedTicket } from "../core/ticket";

export const USED_TICKETS_KEY = "usedTickets";

export class UsedTickets {
  constructor(private readonly kv: SyncKvStorage) {}

  /** The ticket's one use: true when accepted now (and remembered), false for a replay or a full memory. */
  async use(ticket: AcceptedTicket, nowMs: number): Promise<boolean> {
    const jti = await digest(ticket.jti);
    const result = useTicket(this.list(), { jti, expMs: ticket.expMs }, nowMs);
    if (!result.ok) return false;
    this.kv.put(USED_TICKETS_KEY, result.remembered);
    return true;
  }

  list(): AcceptedTicket[] {
    return this.kv.get<AcceptedTicket[]>(USED_TICKETS_KEY) ?? [];
  }

  /** Puts back what a clear deleted, less what expired. */
  restore(remembered: readonly AcceptedTicket[], nowMs: number): void {
    const live = remembered.filter((t) => t.expMs > nowMs);
    if (live.length > 0) this.kv.put(USED_TICKETS_KEY, live);
  }

  /** Forgets expired tickets; the key goes with the last one. */
  prune(nowMs: number): void {
    const all = this.list();
    const live = all.filter((t) => t.expMs > nowMs);
    if (live.length === all.length) return;
    if (live.length === 0) this.kv.delete(USED_TICKETS_KEY);
    else this.kv.put(USED_TICKETS_KEY, live);
  }

  /** When the next remembered ticket expires: a duty of the session's one alarm. */
  nextExpiry(): number | undefined {
    return nextTicketExpiry(this.list());
  }
}

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
