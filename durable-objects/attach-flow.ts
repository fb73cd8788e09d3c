/**
 * What the session object does with an unproven socket's frame, following the gate's decision
 * (core/attach.ts): runs the check it asks for, and turns a proven socket into a client (its first
 * state, a replay it asked for, a fresh resume credential), and takes the app's session slot for a
 * session that becomes real. Glue: the rules are in core/.
 * Invariant: nothing reaches a socket about the session before it is proven; a proof's replay goes
 * out before any await, so no new event can overtake the ones the socket missed.
 */
import { DEFAULT_ATTACH_MODES, DEFAULT_MAX_SESSIONS } from "../core/app";
import { gate } from "../core/attach";
import { connectTokenEvent } from "../core/client-events";
import { errorFrame, type ClientFrame, type ServerFrame } from "../core/protocol";
import { initialState, isActive, view, type SessionEvent, type SessionState } from "../core/session";
import type { Env } from "../worker/env";
import { registryStub, reportSessionStatus } from "../worker/registry";
import type { ProofChecks } from "./attach-gate";
import { issueResume, newResumeKey } from "./attach-proof";
import type { SessionRoute } from "./session-route";
import type { SessionRelay } from "./relay";
import { attachmentOf, isOpen, send, type Attachment } from "./sockets";

/** Where the session's resume key is stored (the session object reads it for its checks too). */
export const RESUME_KEY = "resumeKey";

/** Narrow interface the attach flow uses to reach the session object. */
export interface AttachFlowHost {
  ctx: DurableObjectState;
  env: Env;
  checks: ProofChecks;
  relay: SessionRelay;
  state(): SessionState;
  dispatch(event: SessionEvent): Promise<void>;
  /** A proven socket's frame, for the session. */
  onClientFrame(ws: WebSocket, frame: ClientFrame, attachment: Attachment): Promise<void>;
  /** The session's stored route, or an attached socket's. */
  route(): SessionRoute | undefined;
  now(): number;
  /** Stores the route of a session that is now real (alarms and remote calls need it). */
  keepRoute(route: Attachment["route"]): void;
  /** Before a socket becomes a client: false when its app registration is gone (it was closed). */
  confirmRegistration(ws: WebSocket): Promise<boolean>;
}

export class AttachFlow {
  constructor(private readonly host: AttachFlowHost) {}

  async onFrame(ws: WebSocket, frame: ClientFrame, a: Attachment): Promise<void> {
    const state = this.host.state();
    const decision = gate(frame, {
      route: a.route.key.kind,
      modes: a.route.app.attachModes ?? DEFAULT_ATTACH_MODES,
      proven: a.proven,
      proving: state.proof?.clientId === a.clientId,
      sessionRunning: isActive(state),
    });
    const checks = this.host.checks;
    switch (decision.kind) {
      case "ignore":
        return;
      case "refuse":
        return send(ws, errorFrame(decision.code, decision.field === undefined ? {} : { field: decision.field }));
      case "session":
      case "proof_answer":
        return this.host.onClientFrame(ws, frame, a);
      case "check_resume":
        return this.settle(ws, "resume", await checks.resume(a.route, decision.credential));
      case "check_ticket":
        return this.settle(ws, "ticket", await checks.ticket(a.route, decision.ticket));
      case "check_token": {
        const result = await checks.token(a.route, decision.token);
        if (result === "unavailable") return send(ws, errorFrame("unavailable"));
        return this.settle(ws, "token", result === "ok");
      }
      case "check_link":
        if (!(await checks.link(a.route, decision.accessLink))) return send(ws, errorFrame("auth_failed", { field: "accessLink" }));
        if (!(await this.prove(ws))) return;
        return this.host.onClientFrame(ws, frame, attachmentOf(ws));
      case "start_proof":
        return this.startProof(a, decision.token);
    }
  }

  /** The proof connected the session: it is a real session now, with a slot and a stored route. */
  async proofSucceeded(clientId: string): Promise<void> {
    const ws = this.host.ctx.getWebSockets(clientId).find(isOpen);
    if (!ws) return;
    const route = attachmentOf(ws).route;
    this.host.keepRoute(route);
    // A registration removed while the proof ran: nothing of it may stay.
    if (!(await this.prove(ws))) return this.host.dispatch({ type: "disconnect", clearSavedData: true });
    if (!(await this.claimSlot(route))) {
      send(ws, errorFrame("too_many_sessions"));
      await this.host.dispatch({ type: "disconnect", clearSavedData: false });
      return;
    }
    // The status change to connected was reported before the slot existed: report it now.
    reportSessionStatus(this.host.env, route, this.host.ctx.id.toString(), initialState(), this.host.state());
  }

  /** One of the app's session slots for this session; false when the app has `maxSessions` already. */
  claimSlot(route: SessionRoute): Promise<boolean> {
    const max = route.app.maxSessions ?? DEFAULT_MAX_SESSIONS;
    return registryStub(this.host.env).claimSession(route.appId, this.host.ctx.id.toString(), max, route.appEpoch);
  }

  /** A fresh resume credential while this is a real token session (never after a clear: no key is made). */
  async resumeFrame(): Promise<ServerFrame | undefined> {
    const route = this.host.route();
    const { mode, userId, proof } = this.host.state();
    if (mode !== "token" || userId === undefined || proof !== undefined || !route) return undefined;
    const { credential, expiresAt } = await issueResume(this.resumeKey(), { appId: route.appId, userId, epoch: route.appEpoch }, this.host.now());
    return { type: "resume", credential, expiresAt };
  }

  /** The session's resume key, made on first use (clearSavedData deletes it with the rest). */
  private resumeKey(): string {
    const kv = this.host.ctx.storage.kv;
    let key = kv.get<string>(RESUME_KEY);
    if (key === undefined) {
      key = newResumeKey();
      kv.put(RESUME_KEY, key);
    }
    return key;
  }

  private async settle(ws: WebSocket, field: "resume" | "ticket" | "token", ok: boolean): Promise<void> {
    if (!ok) return send(ws, errorFrame("auth_failed", { field }));
    await this.prove(ws);
  }

  /**
   * The socket proved who it is: it becomes a client, with its first state (and resume
   * credential), unless its app registration is gone (false: it was closed).
   */
  private async prove(ws: WebSocket): Promise<boolean> {
    if (!(await this.host.confirmRegistration(ws))) return false;
    const { since, ...proven } = attachmentOf(ws);
    const a = { ...proven, proven: true };
    ws.serializeAttachment(a);
    send(ws, { type: "state", state: view(this.host.state()) });
    // Before any await: no new event may reach this socket ahead of the ones it missed.
    if (since !== undefined) this.host.relay.replay(ws, since);
    const resume = await this.resumeFrame();
    if (resume) send(ws, resume);
    await this.host.dispatch({ type: "client_attached", clientId: a.clientId });
    return true;
  }

  /** No session runs: the socket's token proves the user by connecting it (core/transition). */
  private async startProof(a: Attachment, token: string): Promise<void> {
    if (a.route.key.kind !== "token") return;
    await this.host.dispatch(connectTokenEvent(a.clientId, a.route.key.userId, a.route.app, token));
  }
}
