/**
 * One user's session (or one access link's): glue between core/ and the Workers runtime.
 * Invariants:
 * - Storage is the truth: the state is written in the same turn as the transition that made it,
 *   before any effect is performed, so eviction at any instant loses nothing.
 * - One alarm, armed for the earliest duty: the session's (core's nextDue), an unproven socket's
 *   proof deadline (core/attach.ts) or a relayed emit's ack deadline. No timers: they block hibernation.
 * - Sockets are hibernatable; each carries its client id (also its tag), route and proof in its
 *   attachment. Only proven sockets are clients (core/attach.ts decides what a socket may do).
 * - Kaleyra's non-lifecycle events and clients' emits go through the relay (durable-objects/relay.ts,
 *   rules in core/relay.ts): events only to proven sockets; a replay only right after a proof.
 * - The remote (core/port.ts) and the wake sender (core/wake-port.ts) are given by the composition
 *   root that exports the class under this name (worker/index.ts, dev/index.ts, test/worker.ts).
 *   Deployed and local sessions get connectorRemote (connector/session-remote.ts): a connector
 *   holds the Kaleyra connection and reports by RPC (`connectorReports`, which the remote sorts),
 *   so the session holds no outbound socket and hibernates while connected.
 * - Wakes (session-wake.ts, docs/push.md) hear Kaleyra's relayed events; push frames go to them.
 * - Its parts (attach-flow.ts, client-frames.ts, session-effects.ts, remote-calls.ts, ...) each get
 *   a narrow host interface, never the object's ctx or env whole.
 * - This class decides nothing: every rule is in core/.
 */
import { DurableObject } from "cloudflare:workers";
import { admit, nextProofDeadline, overdueCode, overdueSockets } from "../core/attach";
import { closeDeadline, dropClosingSockets, sessionQuiet } from "../core/closing-sockets";
import { kaleyraError, type ErrorCode } from "../core/errors";
import type { ConnectorReport, Remote, RemoteNotice, ReportsAnswer } from "../core/port";
import { errorFrame, parseClientFrame } from "../core/protocol";
import { refusedEmitId } from "../core/relay";
import { holdsSessionSlot, initialState, nextDue, view, type SessionEvent, type SessionState } from "../core/session";
import type { SocketInfo } from "../core/socket-info";
import { transition } from "../core/transition";
import type { WakeTrigger } from "../core/wake";
import type { WakeSender } from "../core/wake-port";
import { AttachFlow, RESUME_KEY } from "./attach-flow";
import { attachProofs, ProofChecks } from "./attach-gate";
import type { Env } from "./bindings";
import { ClientFrames } from "./client-frames";
import { SessionClock } from "./clock";
import { closeWithError, refuseUpgrade, refuseWithoutSocket } from "./refuse";
import { Registration } from "./registration";
import { SessionRelay } from "./relay";
import { RemoteCalls } from "./remote-calls";
import { sessionApp, type SessionApp } from "./session-app";
import { SessionEffects } from "./session-effects";
import { parseRoute, SESSION_ROUTE_HEADER, type SessionRoute } from "./session-route";
import { answerClose, attachmentOf, FrameRateLimit, isOpen, PING, PONG, provenSockets, send, sendAll, socketInfos, tokenSources, updateAttachment, type Attachment } from "./sockets";
import { UsedTickets } from "./used-tickets";
import { SessionWake, type WakeResult } from "./session-wake";

const STATE_KEY = "session";
const ROUTE_KEY = "route";

export class UserSession extends DurableObject<Env> {
  /** Which adapter: the composition root's choice (worker/index.ts, dev/index.ts, test/worker.ts). */
  private readonly remote: Remote;
  readonly clock: SessionClock;
  private state: SessionState;
  private readonly app: SessionApp;
  private readonly checks: ProofChecks;
  private readonly frameRate = new FrameRateLimit();
  private readonly relay: SessionRelay;
  private readonly attach: AttachFlow;
  private readonly effects: SessionEffects;
  private readonly tickets: UsedTickets;
  private readonly registration: Registration;
  private readonly wakes: SessionWake;
  private readonly calls: RemoteCalls;

  constructor(ctx: DurableObjectState, env: Env, remote: Remote, wakeSender: WakeSender) {
    super(ctx, env);
    const kv = ctx.storage.kv;
    this.remote = remote;
    this.clock = new SessionClock(kv, env.TEST_CLOCK === "1");
    this.state = kv.get<SessionState>(STATE_KEY) ?? initialState();
    // Clients detect a dead socket with "ping"; the runtime answers without waking this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    remote.listen((sessionId, notice) => void this.onRemoteNotice(sessionId, notice));
    // What the parts may reach of this object: each takes the few it names (its host interface).
    const app = sessionApp(env, ctx.id.toString());
    const now = () => this.clock.now();
    const state = () => this.state;
    const route = () => this.currentRoute();
    const sockets = (clientId?: string) => ctx.getWebSockets(clientId);
    const clients = () => this.clients();
    const dispatch = (event: SessionEvent) => this.dispatch(event);
    const armAlarm = () => this.armAlarm();
    const keepRoute = (r: SessionRoute) => kv.put(ROUTE_KEY, r);
    const confirmRegistration = (ws: WebSocket, recheck = false) => this.registration.confirm(ws, recheck);
    this.app = app;
    this.tickets = new UsedTickets(kv);
    this.relay = new SessionRelay({ remote, now, kv });
    this.registration = new Registration({ sockets, app, now });
    this.checks = new ProofChecks({ remote, now, resumeKey: () => kv.get<string>(RESUME_KEY), appSecrets: app.secrets, useTicket: (t) => this.tickets.use(t, now()) });
    const allowLocal = env.ALLOW_LOCAL_WEBHOOKS === "1";
    const calls = (this.calls = new RemoteCalls({ remote, now, state, route, dispatch, appSecrets: app.secrets, indexRoom: app.indexRoom, allowLocalWebhooks: allowLocal }));
    this.wakes = new SessionWake({ kv, now, state, route, clients, app, sender: wakeSender, allowLocal, armAlarm });
    const frames = new ClientFrames({ state, relay: this.relay, checks: this.checks, app, confirmRegistration, keepRoute, dispatch, armAlarm });
    this.attach = new AttachFlow({
      ...{ sockets, kv, app, checks: this.checks, relay: this.relay, state, dispatch, route, now, keepRoute, clients, confirmRegistration },
      onClientFrame: (ws, frame, a) => frames.onFrame(ws, frame, a),
      announce: (except) => this.effects.announce(this.state, except),
      afterProof: (ws) => this.wakes.tellLastWake(ws),
    });
    const clearStorage = () => ctx.storage.deleteAlarm().then(() => ctx.storage.deleteAll());
    this.effects = new SessionEffects({ sockets, clearStorage, calls, attach: this.attach, remote, state, now, clients, dispatch, armAlarm, tickets: this.tickets });
  }

  override async fetch(request: Request): Promise<Response> {
    const route = parseRoute(request.headers.get(SESSION_ROUTE_HEADER));
    if (!route || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("UserSession only accepts WebSocket upgrades routed by the Worker", { status: 400 });
    }
    const admission = admit(this.socketInfos());
    // Past the closing sockets' limit no socket is made, not even a refusal one: it would be one
    // more socket for a peer that does not answer closes to keep.
    if (admission.refuse) return admission.reason === "closing" ? refuseWithoutSocket("too_many_sockets") : refuseUpgrade("too_many_sockets");
    if (admission.evict !== undefined) for (const ws of this.ctx.getWebSockets(admission.evict)) closeWithError(ws, "auth_required", 4401, this.clock.now());
    const { 0: client, 1: server } = new WebSocketPair();
    const clientId = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [clientId]);
    server.serializeAttachment({ clientId, attachedAt: this.clock.now(), route, proven: false } satisfies Attachment);
    send(server, { type: "auth_required", modes: attachProofs(route) });
    // Its proof deadline is a duty on the one alarm.
    await this.armAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!isOpen(ws)) return; // a socket whose close has started can do nothing more
    const a = attachmentOf(ws);
    if (!this.frameRate.allow(a.clientId, Date.now())) return this.closeSocket(ws, "rate_limited");
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      // An oversized frame closes only this socket (1009: message too big); other bad frames don't.
      if (parsed.error.code === "frame_too_large") return this.closeSocket(ws, "frame_too_large", 1009);
      // Push frames (core/protocol-push.ts) are answered with push frames only, never an error frame.
      if (parsed.error.code === "unknown_type" && (await this.wakes.onPushFrame(ws, message, a))) return;
      // A client's bad emit still gets its one answer, so its promise settles.
      const emitId = a.proven ? refusedEmitId(message) : undefined;
      if (emitId !== undefined) return this.relay.refuse(ws, emitId, "invalid_frame");
      return send(ws, errorFrame(parsed.error));
    }
    const frame = parsed.value;
    // The proof in this frame decides whether (and from where) the socket gets a replay.
    if (frame.type === "auth" && !a.proven && a.since !== frame.since) updateAttachment(ws, { since: frame.since });
    return this.attach.onFrame(ws, frame, a);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Answering the close frame completes the handshake at once; without it the peer waits.
    answerClose(ws, code, reason);
    await this.onSocketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.onSocketGone(ws);
  }

  /** Closes one socket for a limit it broke; its close deadline may now be a duty of the alarm. */
  private async closeSocket(ws: WebSocket, code: ErrorCode, closeCode?: number): Promise<void> {
    closeWithError(ws, code, closeCode, this.clock.now());
    await this.armAlarm();
  }

  override async alarm(): Promise<void> {
    // Only closed sockets whose peers never answered, past their deadline, and nothing in memory
    // to lose: the runtime cannot drop one such socket, but a restart of the object drops them all
    // (storage is kept; the runtime retries this alarm, which then finds nothing to do).
    if (dropClosingSockets(this.socketInfos(), sessionQuiet(this.state), this.clock.now())) return this.ctx.abort("closed sockets whose peers ignore the close");
    // The live connection's own deadlines (handshake, token-update acks, heartbeat) run here.
    this.remote.check();
    this.relay.expire(this.clock.now());
    this.tickets.prune(this.clock.now());
    void this.wakes.runDue();
    const infos = this.socketInfos();
    for (const id of overdueSockets(infos, this.clock.now())) {
      const code = overdueCode(infos.find((s) => s.id === id)!);
      for (const ws of this.ctx.getWebSockets(id)) closeWithError(ws, code, 4401, this.clock.now());
    }
    // The alarm event always re-arms (core's set_alarm), after the overdue sockets above are closed.
    await this.dispatch({ type: "alarm" });
  }

  /** What Kaleyra says on the live connection; notices about an earlier connection are ignored. */
  private async onRemoteNotice(sessionId: string, notice: RemoteNotice): Promise<void> {
    if (sessionId !== this.state.remoteSessionId) return;
    if (notice.type === "remote_event") {
      this.wakes.onKaleyraEvent(notice.name, notice.data);
      return this.relay.event(notice.name, notice.data, this.clients());
    }
    if (notice.type === "client_deprecated") {
      const { type: code, ...dates } = notice;
      return sendAll(this.clients(), { type: "warning", code, message: kaleyraError(code).message, ...dates });
    }
    return this.dispatch(notice);
  }

  /**
   * RPC for the connector holding this session's Kaleyra connection: what Kaleyra said on it, in
   * order. Reports about any other connection are answered as disowned (the connector closes it).
   */
  async connectorReports(batch: ConnectorReport[]): Promise<ReportsAnswer> {
    if (!this.remote.receive) return { disowned: batch.map((r) => r.connectionId) };
    return this.remote.receive(batch, () => this.state.remoteSessionId, (id, notice) => this.onRemoteNotice(id, notice));
  }

  /** RPC for the remote side (webhooks, a session check) saying the current token expired. */
  async remoteTokenExpired(): Promise<void> {
    await this.dispatch({ type: "remote_token_expired" });
  }

  /** RPC for Kaleyra's signed webhook: the user was deactivated. */
  async userDeactivated(at?: number): Promise<void> {
    await this.dispatch(at === undefined ? { type: "user_deactivated" } : { type: "user_deactivated", at });
  }

  /** RPC for Kaleyra's signed webhook: the access link's call (room) ended. */
  async callEnded(): Promise<void> {
    await this.dispatch({ type: "call_ended" });
  }

  /** RPC for the admin API: the app was removed, so the session ends, its data goes (clients are told), then every socket closes. */
  async appRemoved(): Promise<void> {
    this.registration.forget();
    await this.dispatch({ type: "disconnect", clearSavedData: true });
    // A connected session clears once Kaleyra's side is closed, after these sockets are gone: tell
    // the clients now (a session that was not connected has cleared, and told them, already).
    if (this.state.status !== "disconnected") sendAll(this.clients(), { type: "data_cleared" });
    for (const ws of this.ctx.getWebSockets()) closeWithError(ws, "app_id_invalid", 4404, this.clock.now());
    await this.armAlarm();
  }

  /** RPC for the remote side saying the session it held dropped. */
  async remoteLost(): Promise<void> {
    await this.dispatch({ type: "remote_lost" });
  }

  /** A copy of the stored state, for tests and diagnostics. */
  snapshot(): SessionState {
    return structuredClone(this.state);
  }

  private socketInfos(): SocketInfo[] {
    return socketInfos(this.ctx.getWebSockets(), this.state.proof?.clientId, this.attach.checking);
  }

  private async onSocketGone(ws: WebSocket): Promise<void> {
    const a = attachmentOf(ws);
    this.frameRate.forget(a.clientId);
    this.relay.forget(a.clientId);
    if (a.proven || this.state.proof?.clientId === a.clientId) await this.dispatch({ type: "client_left", clientId: a.clientId });
    // A socket gone changes the close deadline's duty (core/closing-sockets.ts): due now that only
    // closing ones are left, or no longer needed now that the last closing one was answered.
    await this.armAlarm();
  }

  private clients(): WebSocket[] {
    return provenSockets(this.ctx.getWebSockets());
  }

  private async dispatch(event: SessionEvent): Promise<void> {
    // A proof's prover is its only token source, from the connect that starts the proof on.
    const prover = this.state.proof?.clientId ?? (event.type === "connect_token" && event.proof ? event.clientId : undefined);
    const sources = tokenSources(this.ctx.getWebSockets(), prover).filter((id) => event.type !== "client_left" || id !== event.clientId);
    const before = this.state;
    const { state, effects } = transition(before, event, { now: this.clock.now(), random: Math.random, clients: sources });
    const changed = JSON.stringify(state) !== JSON.stringify(before);
    this.state = state;
    // A pending proof is nobody's session yet: tenants see real sessions only.
    if (holdsSessionSlot(state) && before.status !== state.status) this.app.reportStatus(this.currentRoute(), before, state);
    // An event that changes nothing writes nothing: a webhook for a user with no session must not
    // leave an object with storage behind.
    if (changed && !effects.some((fx) => fx.type === "clear_data")) this.ctx.storage.kv.put(STATE_KEY, state);
    if (holdsSessionSlot(before) && !holdsSessionSlot(state)) this.releaseSlot();
    for (const fx of effects) await this.effects.perform(fx, state);
    // Cleared means cleared: the relay's stream (stored with its events) starts over too.
    if (effects.some((fx) => fx.type === "clear_data")) this.relay.clear();
  }

  private releaseSlot(): void {
    const route = this.currentRoute();
    if (route) this.app.releaseSlot(route.appId);
  }

  /**
   * Arms the alarm for the earliest duty of the current state and of the waiting sockets, not the
   * effect's own time: a remote answer may run a newer transition while this one performs effects.
   */
  private async armAlarm(): Promise<void> {
    const sockets = this.socketInfos();
    const dues = [nextDue(this.state), nextProofDeadline(sockets), closeDeadline(sockets, sessionQuiet(this.state)), this.relay.nextDeadline(), this.tickets.nextExpiry(), this.wakes.nextDeadline()].filter(
      (t): t is number => t !== undefined,
    );
    // The live connection's own deadlines are real time (its heartbeat): a silent Kaleyra is
    // noticed at its deadline, not at the next liveness check.
    const real = [...(dues.length === 0 ? [] : [this.clock.toRealTime(Math.min(...dues))]), this.remote.nextDeadline()].filter((t): t is number => t !== undefined);
    if (real.length === 0) return this.ctx.storage.deleteAlarm();
    // Alarms have whole-millisecond times, and local workerd drops one set for "now" from inside
    // alarm(): round up, and never arm in the past.
    await this.ctx.storage.setAlarm(Math.max(Math.ceil(Math.min(...real)), Date.now() + 1));
  }

  /** The stored route, or any attached socket's (storage is cleared by clearSavedData). */
  private currentRoute(): SessionRoute | undefined {
    return this.ctx.storage.kv.get<SessionRoute>(ROUTE_KEY) ?? this.ctx.getWebSockets().map(attachmentOf)[0]?.route;
  }

  // The tenant API's (worker/tenant.ts):

  /** The session as its clients see it, and how many clients are attached. */
  describe(): { view: ReturnType<typeof view>; clients: number } {
    return { view: view(this.state), clients: this.clients().length };
  }

  /** Wakes the user's closed app if the app's wake rules say so (the v0 webhook, the tenant API). */
  wakeUser(appId: string, userId: string, trigger: WakeTrigger): Promise<WakeResult> {
    return this.wakes.trigger(appId, userId, trigger);
  }

  /** Ends the session as a client's disconnect(clearSavedData) would; answers the result. */
  async end(clearSavedData: boolean): Promise<{ view: ReturnType<typeof view>; clients: number }> {
    await this.dispatch({ type: "disconnect", clearSavedData: clearSavedData === true });
    // The close is a call to the connector: answer once it is done, so the answer says how it ended.
    await this.calls.closing;
    return this.describe();
  }
}
