/**
 * Which registration of the app the session's sockets belong to. An app's epoch is new at every
 * registration (a delete then a PUT of the same appId makes a new one) and every socket's route
 * carries the epoch it was routed with. Glue; docs/security.md "App lifecycle" has the rules:
 * - Before a socket becomes a client, its epoch is checked against the app's state (which then
 *   remembers this object, so the app's removal reaches it even while idle): a socket of a
 *   removed registration is told `data_cleared` (if proven) and closed 4404, never proven.
 * - Where two epochs meet in this object, the app's state decides: every socket of another epoch
 *   than the current one is closed the same way, so a socket proven under an old registration
 *   can do nothing beside a client of the new one.
 * - An epoch checked once is trusted for the object's life in memory (no call per proof) unless
 *   sockets of another epoch are held; `forget` (the app was removed) drops that trust.
 */
import type { SessionApp } from "./session-app";
import { closeWithError } from "./refuse";
import { attachmentOf, isOpen, send } from "./sockets";

export interface RegistrationHost {
  /** The session's sockets. */
  sockets(): WebSocket[];
  app: Pick<SessionApp, "currentEpoch">;
  now(): number;
}

export class Registration {
  /** The epoch the app's state last answered as current, for this object's life in memory. */
  private current: string | undefined;

  constructor(private readonly host: RegistrationHost) {}

  /**
   * Whether `ws` belongs to the app's current registration; when it does not, it is closed (with
   * every other socket of a stale epoch). `recheck`: ask the app's state even when trusted.
   */
  async confirm(ws: WebSocket, recheck = false): Promise<boolean> {
    const { route } = attachmentOf(ws);
    const sockets = this.host.sockets().filter(isOpen);
    const mixed = sockets.some((s) => attachmentOf(s).route.appEpoch !== route.appEpoch);
    if (!recheck && !mixed && this.current === route.appEpoch) return true;
    let current: string | null;
    try {
      current = await this.host.app.currentEpoch(route);
    } catch {
      // The app's state unreachable: the proof goes on (untrusted, so checked again next time);
      // a slot, which starts anything, is still checked against the epoch by the app's state.
      return true;
    }
    this.current = current ?? undefined;
    for (const s of sockets) if (attachmentOf(s).route.appEpoch !== current) closeStale(s, this.host.now());
    return current === route.appEpoch;
  }

  /** The app was removed: nothing is trusted any more. */
  forget(): void {
    this.current = undefined;
  }
}

/** A socket of a removed registration: its client drops what it saved, and it closes. */
function closeStale(ws: WebSocket, now: number): void {
  if (attachmentOf(ws).proven) send(ws, { type: "data_cleared" });
  closeWithError(ws, "app_id_invalid", 4404, now);
}

