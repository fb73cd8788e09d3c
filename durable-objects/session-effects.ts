/**
 * What the session object does with each of core's effects (core/session.ts, Effect): frames to
 * sockets, calls to Kaleyra and the token source, the one alarm, storage. Glue: no rule here.
 * Invariants:
 * - An effect is performed with the state of the transition that made it: a remote answer may run
 *   a newer transition meanwhile (a resume credential goes out only for the current state).
 * - A proof's view reaches its prover only, and only while it is not a client.
 */
import { errorFrame, type ServerFrame } from "../core/protocol";
import { SERVER_SOURCE, view, type Effect, type SessionEvent, type SessionState } from "../core/session";
import type { KaleyraRemote } from "../core/port";
import type { AttachFlow } from "./attach-flow";
import { attachProofs } from "./attach-gate";
import type { RemoteCalls } from "./remote-calls";
import type { UsedTickets } from "./used-tickets";
import { attachmentOf, isOpen, send, sendAll, updateAttachment } from "./sockets";

/** Narrow interface the effects use to reach the session object. */
export interface SessionEffectsHost {
  /** The sockets tagged with one client id. */
  sockets(clientId: string): WebSocket[];
  /** Deletes the session's storage and its alarm (clearSavedData). */
  clearStorage(): Promise<void>;
  calls: RemoteCalls;
  attach: AttachFlow;
  readonly remote: KaleyraRemote;
  state(): SessionState;
  now(): number;
  /** The proven clients' sockets. */
  clients(): WebSocket[];
  dispatch(event: SessionEvent): Promise<void>;
  armAlarm(): Promise<void>;
  /** Used attach tickets: remembered across a clear. */
  tickets: UsedTickets;
}

export class SessionEffects {
  constructor(private readonly host: SessionEffectsHost) {}

  async perform(fx: Effect, state: SessionState): Promise<void> {
    const { calls } = this.host;
    switch (fx.type) {
      case "request_token": {
        if (fx.clientId === SERVER_SOURCE) return void calls.askServer(fx);
        // No source available: the request waits for a client to attach, or the attempt times out.
        if (fx.clientId === undefined) return;
        const frame: ServerFrame = { type: "token_request", requestId: fx.requestId, userId: fx.userId, attempt: fx.attempt };
        if (fx.expiresAt !== undefined) frame.expiresAt = fx.expiresAt;
        for (const ws of this.host.sockets(fx.clientId)) send(ws, frame);
        return;
      }
      case "open_remote":
        return void calls.open(fx);
      case "close_remote":
        return void calls.close(fx);
      case "update_remote":
        return void calls.update(fx);
      case "check_remote":
        // An adapter made after an eviction or restart holds no connection: this is how it finds out.
        // A connector answers by RPC (the rare safety check, core/refresh.ts); an answer about an
        // older connection than the current one changes nothing.
        if (!(await this.host.remote.isAlive(fx.remoteSessionId)) && this.host.state().remoteSessionId === fx.remoteSessionId) await this.host.dispatch({ type: "remote_lost" });
        return;
      case "set_alarm":
        return this.host.armAlarm();
      case "broadcast":
        return this.announce(state);
      case "proof_view":
        // Its own proof only, and only while it is not a client (a client hears the session's states).
        for (const ws of this.host.sockets(fx.clientId)) if (isOpen(ws) && !attachmentOf(ws).proven) send(ws, { type: "state", state: fx.view, proof: true });
        return;
      case "reply_error": {
        const frame = errorFrame(fx.code, fx.requestId === undefined ? {} : { requestId: fx.requestId });
        for (const ws of fx.clientId === undefined ? [] : this.host.sockets(fx.clientId)) send(ws, frame);
        return;
      }
      case "claim_slot":
        return this.host.attach.sessionAccepted(fx.prover);
      case "proof_failed":
        for (const ws of this.host.sockets(fx.clientId)) {
          if (!isOpen(ws)) continue;
          // The socket waits like any unproven one again: its proof deadline starts over.
          updateAttachment(ws, { waitingSince: this.host.now() });
          send(ws, fx.code === "auth_required" ? { type: "auth_required", modes: attachProofs(attachmentOf(ws).route) } : errorFrame(fx.code));
        }
        return this.host.armAlarm();
      case "clear_data":
        // Told first: the sockets may be closing right after this turn (the app was removed).
        sendAll(this.host.clients(), { type: "data_cleared" });
        {
          // Everything goes but the memory of used tickets, which must outlive a clear (used-tickets.ts).
          const usedTickets = this.host.tickets.list();
          await this.host.clearStorage();
          this.host.tickets.restore(usedTickets, this.host.now());
        }
        return this.host.armAlarm();
    }
  }

  /** Sends `state` to every client but `except`, with a fresh resume credential while it is the current state. */
  async announce(state: SessionState, except?: string): Promise<void> {
    const clients = this.host.clients().filter((ws) => attachmentOf(ws).clientId !== except);
    sendAll(clients, { type: "state", state: view(state) });
    // Keeps every client's resume credential fresh while the session lives.
    const resume = state === this.host.state() && clients.length > 0 ? await this.host.attach.resumeFrame() : undefined;
    if (resume) sendAll(clients, resume);
  }
}
