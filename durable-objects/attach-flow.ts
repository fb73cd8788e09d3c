/**
 * What the session object does with an unproven socket's frame, following the gate's decision
 * (core/attach.ts): runs the check it asks for, and turns a proven socket into a client (its first
 * state, a replay it asked for, a fresh resume credential), and takes the app's session slot for a
 * session that becomes real. Glue: the rules are in core/.
 * Invariants:
 * - Nothing reaches a socket about the session before it is proven; a proof's replay goes out
 *   before any await, so no new event can overtake the ones the socket missed.
 * - A session Kaleyra accepted for the first time takes its slot before anyone hears of it, and
 *   ends when nobody is left to own it (its prover gone) or the app has no slot for it.
 * - Checks in flight are memory only: a check is a call in flight, gone with the process anyway.
 */
import { DEFAULT_ATTACH_MODES } from "../core/app";
import { gate } from "../core/attach";
import { connectTokenEvent } from "../core/client-events";
import { errorFrame, type ClientFrame, type ServerFrame } from "../core/protocol";
import { initialState, isActive, view, type SessionEvent, type SessionState } from "../core/session";
import type { SessionApp } from "./session-app";
import type { ProofChecks } from "./attach-gate";
import { issueResume, newResumeKey } from "./attach-proof";
import type { SessionRoute } from "./session-route";
import type { SessionRelay } from "./relay";
import { attachmentOf, isOpen, send, updateAttachment, type Attachment } from "./sockets";

/** Where the session's resume key is stored (the session object reads it for its checks too). */
export const RESUME_KEY = "resumeKey";

/** Narrow interface the attach flow uses to reach the session object. */
export interface AttachFlowHost {
  /** The session's sockets, or those tagged with one client id. */
  sockets(clientId?: string): WebSocket[];
  /** The session's storage, for its resume key. */
  kv: SyncKvStorage;
  app: Pick<SessionApp, "claimSlot" | "reportStatus">;
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
  /** The proven clients' sockets. */
  clients(): WebSocket[];
  /** Sends the current state (and a resume credential) to every client but `except`. */
  announce(except?: string): Promise<void>;
  /** Before a socket becomes a client: false when its app registration is gone (it was closed). */
  confirmRegistration(ws: WebSocket): Promise<boolean>;
  /** A socket just proved itself, its state and replay sent (the session tells it of a recent wake). */
  afterProof(ws: WebSocket): void;
}

export class AttachFlow {
  /** Sockets whose proof is being checked right now. */
  readonly checking = new Set<string>();
  /** Token checks in flight (each one an update or a connection to Kaleyra). */
  private tokenChecks = 0;

  constructor(private readonly host: AttachFlowHost) {}

  async onFrame(ws: WebSocket, frame: ClientFrame, a: Attachment): Promise<void> {
    const state = this.host.state();
    const checks = this.host.checks;
    const token = frame.type === "token" || (frame.type === "auth" && "token" in frame) ? frame.token : undefined;
    const decision = gate(frame, {
      route: a.route.key.kind,
      modes: a.route.app.attachModes ?? DEFAULT_ATTACH_MODES,
      proven: a.proven,
      proving: state.proof?.clientId === a.clientId,
      checking: this.checking.has(a.clientId),
      ...(a.checkRequestId === undefined ? {} : { checkRequestId: a.checkRequestId }),
      sessionRunning: isActive(state),
      sessionConnected: state.status === "connected" && state.mode === "token" && state.remoteSessionId !== undefined,
      tokenChecks: this.tokenChecks,
      ...(a.route.key.kind === "token" ? { userId: a.route.key.userId } : {}),
      ...(token === undefined ? {} : { tokenUser: checks.tokenUser(token) }),
    });
    switch (decision.kind) {
      case "ignore":
        return;
      case "refuse":
        return send(ws, errorFrame(decision.code, decision.field === undefined ? {} : { field: decision.field }));
      case "session":
      case "proof_answer":
        return this.host.onClientFrame(ws, frame, a);
      case "check_resume":
        return this.settle(ws, "resume", await this.check(a, () => checks.resume(a.route, decision.credential)));
      case "check_ticket":
        return this.settle(ws, "ticket", await this.check(a, () => checks.ticket(a.route, decision.ticket)));
      case "ask_token": {
        // The same request a session's token attempt sends; its answer comes back as a token frame.
        const requestId = `check.${crypto.randomUUID()}`;
        updateAttachment(ws, { checkRequestId: requestId, waitingSince: this.host.now() });
        return send(ws, { type: "token_request", requestId, userId: a.route.key.kind === "token" ? a.route.key.userId : "", attempt: 1 });
      }
      case "check_failed":
        updateAttachment(ws, { checkRequestId: undefined });
        return this.settle(ws, "token", false);
      case "check_token":
        return this.checkToken(ws, a, decision.token, decision.via);
      case "check_link":
        if (!(await this.check(a, () => checks.link(a.route, decision.accessLink)))) return this.settle(ws, "accessLink", false);
        if ((await this.prove(ws)) !== "proven") return;
        return this.host.onClientFrame(ws, frame, attachmentOf(ws));
      case "start_proof":
        return this.startProof(a, decision.token);
    }
  }

  /**
   * Kaleyra accepted the session for the first time (core's claim_slot): it takes the app's slot,
   * then the prover (if any) becomes a client and everyone hears the state. A proof that succeeds
   * with no socket left to receive it ends what it started: nobody proved anything.
   */
  async sessionAccepted(prover: string | undefined): Promise<void> {
    const proverSocket = () => (prover === undefined ? undefined : this.host.sockets(prover).find(isOpen));
    const ws = proverSocket();
    const route = ws ? attachmentOf(ws).route : this.host.route();
    if ((prover !== undefined && !ws) || !route) return this.host.dispatch({ type: "disconnect", clearSavedData: false });
    const claimed = await this.host.app.claimSlot(route);
    // The prover may have left while the slot was claimed: the same rule.
    if (prover !== undefined && !proverSocket()) return this.host.dispatch({ type: "disconnect", clearSavedData: false });
    if (!claimed) {
      // Told first: a refused prover (or link client) never sees the session connected.
      for (const s of ws ? [ws] : this.host.clients()) send(s, errorFrame("too_many_sessions"));
      return this.host.dispatch({ type: "disconnect", clearSavedData: false });
    }
    this.host.keepRoute(route);
    const proved = ws ? await this.prove(ws) : "proven";
    // A registration removed while the proof ran: nothing of it may stay. A prover gone: ended as above.
    if (proved !== "proven") return this.host.dispatch({ type: "disconnect", clearSavedData: proved === "stale" });
    await this.host.announce(prover);
    // The status change to connected was reported before the slot existed: report it now.
    this.host.app.reportStatus(route, initialState(), this.host.state());
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
    const kv = this.host.kv;
    let key = kv.get<string>(RESUME_KEY);
    if (key === undefined) {
      key = newResumeKey();
      kv.put(RESUME_KEY, key);
    }
    return key;
  }

  /** Runs a check as this socket's one proof in flight. */
  private async check<T>(a: Attachment, run: () => Promise<T>): Promise<T> {
    this.checking.add(a.clientId);
    try {
      return await run();
    } finally {
      this.checking.delete(a.clientId);
    }
  }

  /**
   * A joining token: on the live connection when the session is connected (it proves the user and
   * refreshes the session in one step), else on a connection of its own (closed again).
   */
  private async checkToken(ws: WebSocket, a: Attachment, token: string, via: "update" | "connect"): Promise<void> {
    updateAttachment(ws, { checkRequestId: undefined });
    const live = this.host.state().remoteSessionId;
    this.tokenChecks += 1;
    try {
      if (via === "update" && live !== undefined) {
        const updated = await this.check(a, () => this.host.checks.tokenOnLive(live, token));
        if (!updated.ok) return updated.error === "unavailable" ? this.refused(ws, "unavailable") : this.settle(ws, "token", false);
        await this.host.dispatch(updated.expiresAt === undefined ? { type: "remote_token_joined" } : { type: "remote_token_joined", expiresAt: updated.expiresAt });
        return this.settle(ws, "token", true);
      }
      const result = await this.check(a, () => this.host.checks.token(a.route, token));
      if (result === "unavailable") return this.refused(ws, "unavailable");
      return this.settle(ws, "token", result === "ok");
    } finally {
      this.tokenChecks -= 1;
    }
  }

  private async settle(ws: WebSocket, field: "resume" | "ticket" | "token" | "accessLink", ok: boolean): Promise<void> {
    if (!ok) return this.refused(ws, "auth_failed", field);
    await this.prove(ws);
  }

  /** A proof that did not prove the socket: it may try again, and its proof deadline starts over. */
  private refused(ws: WebSocket, code: "auth_failed" | "unavailable", field?: string): void {
    if (!isOpen(ws)) return;
    updateAttachment(ws, { waitingSince: this.host.now() });
    send(ws, errorFrame(code, field === undefined ? {} : { field }));
  }

  /**
   * The socket proved who it is: it becomes a client, with its first state (and resume
   * credential). Not when it closed while its proof was checked ("gone": nobody's client), nor when
   * its app registration is gone ("stale": it was closed).
   */
  private async prove(ws: WebSocket): Promise<"proven" | "gone" | "stale"> {
    if (!isOpen(ws)) return "gone";
    if (!(await this.host.confirmRegistration(ws))) return "stale";
    const { since, checkRequestId: _c, waitingSince: _w, ...proven } = attachmentOf(ws);
    const a = { ...proven, proven: true };
    ws.serializeAttachment(a);
    send(ws, { type: "state", state: view(this.host.state()) });
    // Before any await: no new event may reach this socket ahead of the ones it missed.
    if (since !== undefined) this.host.relay.replay(ws, since);
    this.host.afterProof(ws);
    const resume = await this.resumeFrame();
    if (resume) send(ws, resume);
    await this.host.dispatch({ type: "client_attached", clientId: a.clientId });
    return "proven";
  }

  /** No session runs: the socket proves the user by connecting it (core/transition), with its token if it sent one. */
  private async startProof(a: Attachment, token: string | undefined): Promise<void> {
    if (a.route.key.kind !== "token") return;
    await this.host.dispatch(connectTokenEvent(a.clientId, a.route.key.userId, a.route.app, token === undefined ? {} : { token }));
  }
}
