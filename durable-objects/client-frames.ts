/**
 * A proven client's frames, once the attach gate let them through (attach-flow.ts): an emit goes
 * to the relay, every other frame becomes the session event core names for it
 * (core/client-events.ts). Glue: the rules are in core/.
 * Invariants: a token connect that starts a real session takes one of the app's slots before it
 * runs; a link socket's connect must name the link the socket proved.
 */
import { eventFor } from "../core/client-events";
import { errorFrame, type ClientFrame } from "../core/protocol";
import { holdsSessionSlot, type SessionEvent, type SessionState } from "../core/session";
import type { ProofChecks } from "./attach-gate";
import type { SessionRelay } from "./relay";
import type { SessionApp } from "./session-app";
import type { SessionRoute } from "./session-route";
import { send, type Attachment } from "./sockets";

/** Narrow interface the client frames use to reach the session object. */
export interface ClientFramesHost {
  state(): SessionState;
  relay: Pick<SessionRelay, "emit">;
  checks: Pick<ProofChecks, "link">;
  app: Pick<SessionApp, "claimSlot">;
  /** False when the socket's app registration is gone (it was closed); `recheck`: ask the app's state. */
  confirmRegistration(ws: WebSocket, recheck: boolean): Promise<boolean>;
  /** Stores the route of a session that is now real (alarms and remote calls need it). */
  keepRoute(route: SessionRoute): void;
  dispatch(event: SessionEvent): Promise<void>;
  armAlarm(): Promise<void>;
}

export class ClientFrames {
  constructor(private readonly host: ClientFramesHost) {}

  async onFrame(ws: WebSocket, frame: ClientFrame, attachment: Attachment): Promise<void> {
    const { clientId, route } = attachment;
    const state = this.host.state();
    if (frame.type === "remote_emit") {
      this.host.relay.emit(ws, clientId, frame, state.status === "connected" ? state.remoteSessionId : undefined);
      return this.host.armAlarm(); // its ack deadline is a duty on the one alarm
    }
    // A link socket proved one call; every connect it sends must name that call.
    if (route.key.kind === "access_link" && frame.type === "connect" && "accessLink" in frame && !(await this.host.checks.link(route, frame.accessLink))) {
      return send(ws, errorFrame("user_mismatch"));
    }
    const event = eventFor(frame, clientId, route, this.host.state());
    if ("refused" in event) return send(ws, errorFrame(event.refused));
    // A proven client's token connect starts a real session (a pending proof is not one yet): it
    // takes its slot first. A link session takes it when Kaleyra accepts the link (claim_slot).
    if ((event.type === "connect_token" || event.type === "connect_link") && !holdsSessionSlot(this.host.state())) {
      if (event.type === "connect_token" && !(await this.host.app.claimSlot(route))) {
        // Refused for the app's session limit, or because this socket's registration is gone
        // (then it is closed, 4404).
        if (!(await this.host.confirmRegistration(ws, true))) return;
        return send(ws, errorFrame("too_many_sessions"));
      }
      // Alarms and remote calls need the app's settings even when no client is attached.
      this.host.keepRoute(route);
    }
    await this.host.dispatch(event);
  }
}
