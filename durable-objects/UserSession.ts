/**
 * One user's session (or one access link's): glue between core/transition and the Workers runtime.
 * Invariants:
 * - Storage is the truth: the state is written in the same turn as the transition that made it,
 *   before any effect is performed, so eviction at any instant loses nothing.
 * - One alarm, armed for the earliest due duty (core's nextDue). No timers: they block hibernation.
 * - Sockets are hibernatable; each carries its client id (also its tag) and route in its attachment.
 *   A token-session socket is a client only once it proved who it is (attach-gate.ts).
 * - This class decides nothing about the session: every rule is in core/.
 */
import { DurableObject } from "cloudflare:workers";
import { DEFAULT_MAX_SESSIONS } from "../core/app";
import { errorFrame, parseClientFrame, type ClientFrame, type ServerFrame } from "../core/protocol";
import { DEFAULT_RETRY_POLICY } from "../core/policy";
import { initialState, isActive, nextDue, SERVER_SOURCE, view, type Effect, type SessionEvent, type SessionState } from "../core/session";
import { transition } from "../core/transition";
import { createRemote } from "../remote";
import type { CloseSessionRequest, KaleyraRemote, OpenSessionResult, ServerTokenMinter } from "../remote/port";
import { fetchServerToken } from "../remote/server-tokens";
import { registryStub, reportSessionStatus } from "../worker/registry";
import type { Env } from "../worker/env";
import { AttachGate, attachModes } from "./attach-gate";
import { issueResume, newResumeKey } from "./attach-proof";
import { SessionClock } from "./clock";
import { closeWithError, refuseUpgrade } from "./refuse";
import { SESSION_ROUTE_HEADER, type SessionRoute } from "./session-route";
import {
  attachmentOf,
  FrameRateLimit,
  isClient,
  MAX_SOCKETS_PER_SESSION,
  MAX_UNPROVEN_SOCKETS,
  PING,
  PONG,
  send,
  sendAll,
  updateAttachment,
  type Attachment,
} from "./sockets";

const STATE_KEY = "session";
const ROUTE_KEY = "route";
const RESUME_KEY = "resumeKey";

export class UserSession extends DurableObject<Env> {
  /** Swappable in tests; chosen by the REMOTE binding. */
  remote: KaleyraRemote & ServerTokenMinter;
  readonly clock: SessionClock;
  private state: SessionState;
  private readonly gate: AttachGate;
  private readonly frameRate = new FrameRateLimit();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.remote = createRemote(env);
    this.clock = new SessionClock(ctx.storage.kv, env.TEST_CLOCK === "1");
    this.state = ctx.storage.kv.get<SessionState>(STATE_KEY) ?? initialState();
    // Clients detect a dead socket with "ping"; the runtime answers without waking this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    this.gate = new AttachGate({
      remote: this.remote,
      now: () => this.clock.now(),
      resumeKey: () => this.ctx.storage.kv.get<string>(RESUME_KEY),
      appSecrets: (appId) => registryStub(this.env).getAppSecrets(appId),
      verified: (ws, attachment) => this.onVerified(ws, attachment),
      sessionActive: () => isActive(this.state),
      startProvisional: (ws, attachment) => this.startProvisional(ws, attachment),
    });
  }

  override async fetch(request: Request): Promise<Response> {
    const route = parseRoute(request.headers.get(SESSION_ROUTE_HEADER));
    if (!route || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("UserSession only accepts WebSocket upgrades routed by the Worker", { status: 400 });
    }
    this.closeOldestUnproven();
    if (this.ctx.getWebSockets().length >= MAX_SOCKETS_PER_SESSION) return refuseUpgrade("too_many_sockets");
    const { 0: client, 1: server } = new WebSocketPair();
    const clientId = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [clientId]);
    // An access link is its own proof, for its own call only.
    const attachment: Attachment = { clientId, attachedAt: Date.now(), route, verified: route.key.kind === "access_link" };
    server.serializeAttachment(attachment);
    if (attachment.verified) await this.welcome(server, attachment);
    else send(server, { type: "auth_required", modes: [...attachModes(attachment)] });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = attachmentOf(ws);
    if (!this.frameRate.allow(attachment.clientId, Date.now())) return closeWithError(ws, "rate_limited");
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      // An oversized frame closes only this socket (1009: message too big); other bad frames don't.
      if (parsed.error.code === "frame_too_large") return closeWithError(ws, "frame_too_large", 1009);
      return send(ws, errorFrame(parsed.error.code, { field: parsed.error.field }));
    }
    if (!isClient(attachment) || (!attachment.verified && parsed.value.type === "auth")) return this.gate.onFrame(ws, parsed.value);
    if (parsed.value.type === "auth") return; // already a client: nothing more to prove
    // A provisional socket proves itself by the token it gives: remember which request it answered.
    if (!attachment.verified && parsed.value.type === "token") updateAttachment(ws, { suppliedRequestId: parsed.value.requestId });
    await this.onClientFrame(ws, parsed.value, attachment);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.onSocketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.onSocketGone(ws);
  }

  override async alarm(): Promise<void> {
    await this.dispatch({ type: "alarm" });
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

  /** RPC for the admin API: the app was removed, so the session ends and its data goes. */
  async appRemoved(): Promise<void> {
    await this.dispatch({ type: "disconnect", clearSavedData: true });
    for (const ws of this.ctx.getWebSockets()) ws.close(4404, "app_id_invalid");
  }

  /** RPC for the remote side saying the session it held dropped. */
  async remoteLost(): Promise<void> {
    await this.dispatch({ type: "remote_lost" });
  }

  /** A copy of the stored state, for tests and diagnostics. */
  snapshot(): SessionState {
    return structuredClone(this.state);
  }

  /**
   * Unproven sockets hold no session data but take slots; with no timers to expire them, the
   * oldest makes room once MAX_UNPROVEN_SOCKETS wait, so strangers cannot fill a session's slots.
   */
  private closeOldestUnproven(): void {
    const unproven = this.ctx
      .getWebSockets()
      .filter((ws) => !isClient(attachmentOf(ws)))
      .sort((a, b) => attachmentOf(a).attachedAt - attachmentOf(b).attachedAt);
    if (unproven.length >= MAX_UNPROVEN_SOCKETS) closeWithError(unproven[0]!, "auth_required", 4401);
  }

  private async onSocketGone(ws: WebSocket): Promise<void> {
    const attachment = attachmentOf(ws);
    this.frameRate.forget(attachment.clientId);
    if (isClient(attachment)) await this.dispatch({ type: "client_left", clientId: attachment.clientId });
  }

  /** A new client: its first state (and resume credential), then the session may ask it for tokens. */
  private async welcome(ws: WebSocket, attachment: Attachment): Promise<void> {
    send(ws, { type: "state", state: view(this.state) });
    const resume = await this.resumeFrame();
    if (resume) send(ws, resume);
    await this.dispatch({ type: "client_attached", clientId: attachment.clientId });
  }

  private async onVerified(ws: WebSocket, attachment: Attachment): Promise<void> {
    await this.welcome(ws, attachment);
    if (!attachment.pendingConnect || attachment.route.key.kind !== "token") return;
    const a = updateAttachment(ws, { pendingConnect: false });
    await this.onClientFrame(ws, { type: "connect", userId: attachment.route.key.userId }, a);
  }

  private async startProvisional(ws: WebSocket, attachment: Attachment): Promise<void> {
    if (attachment.route.key.kind !== "token") return;
    const a = updateAttachment(ws, { provisional: true, pendingConnect: false });
    send(ws, { type: "state", state: view(this.state) });
    await this.dispatch({ type: "client_attached", clientId: a.clientId });
    await this.onClientFrame(ws, { type: "connect", userId: attachment.route.key.userId }, a);
  }

  /**
   * When the session connects, a provisional socket whose token did it is proven; the others
   * lose their place and must prove themselves like any newcomer.
   */
  private settleProvisional(event: SessionEvent, state: SessionState): void {
    if (event.type !== "remote_opened" || state.status !== "connected") return;
    for (const ws of this.ctx.getWebSockets()) {
      const a = attachmentOf(ws);
      if (a.verified || !a.provisional) continue;
      if (a.suppliedRequestId === event.requestId) updateAttachment(ws, { verified: true, provisional: false });
      else {
        updateAttachment(ws, { provisional: false });
        send(ws, { type: "auth_required", modes: [...attachModes(a)] });
      }
    }
  }

  private async onClientFrame(ws: WebSocket, frame: ClientFrame, attachment: Attachment): Promise<void> {
    const { clientId, route } = attachment;
    const event = this.eventFor(frame, clientId, route);
    if ("refused" in event) return send(ws, errorFrame(event.refused));
    if ((event.type === "connect_token" || event.type === "connect_link") && !isActive(this.state)) {
      const max = route.app.maxSessions ?? DEFAULT_MAX_SESSIONS;
      if (!(await registryStub(this.env).claimSession(route.appId, this.ctx.id.toString(), max))) {
        return send(ws, errorFrame("too_many_sessions"));
      }
      // Alarms and remote calls need the app's settings even when no client is attached.
      this.ctx.storage.kv.put(ROUTE_KEY, route);
    }
    await this.dispatch(event);
  }

  private resumeKey(): string {
    let key = this.ctx.storage.kv.get<string>(RESUME_KEY);
    if (key === undefined) {
      key = newResumeKey();
      this.ctx.storage.kv.put(RESUME_KEY, key);
    }
    return key;
  }

  /** A fresh resume credential while this is a token session (never after a clear: no key is made). */
  private async resumeFrame(): Promise<ServerFrame | undefined> {
    const route = this.currentRoute();
    if (this.state.mode !== "token" || this.state.userId === undefined || !route) return undefined;
    const { credential, expiresAt } = await issueResume(this.resumeKey(), route.appId, this.state.userId, this.clock.now());
    return { type: "resume", credential, expiresAt };
  }

  /** Maps a valid frame to a core event, or to an error that belongs to this socket's route. */
  private eventFor(frame: ClientFrame, clientId: string, route: SessionRoute): SessionEvent | { refused: "session_conflict" | "wrong_endpoint" | "user_mismatch" } {
    switch (frame.type) {
      case "auth":
        return { refused: "user_mismatch" }; // unreachable: auth frames never get here
      case "connect": {
        const kind = "userId" in frame ? "token" : "access_link";
        // The socket's route fixes the session kind: the other kind is the seed's exclusion rule.
        if (kind !== route.key.kind) return { refused: isActive(this.state) ? "session_conflict" : "wrong_endpoint" };
        const policy = route.app.retryPolicy ?? DEFAULT_RETRY_POLICY;
        if ("userId" in frame) {
          if (route.key.kind !== "token" || frame.userId !== route.key.userId) return { refused: "user_mismatch" };
          const serverTokens = route.app.serverTokens?.order;
          return serverTokens === undefined
            ? { type: "connect_token", clientId, userId: frame.userId, policy }
            : { type: "connect_token", clientId, userId: frame.userId, policy, serverTokens };
        }
        if (route.key.kind !== "access_link" || frame.accessLink !== route.key.accessLink) return { refused: "user_mismatch" };
        return { type: "connect_link", clientId, accessLink: frame.accessLink, policy };
      }
      case "token":
        return { type: "token_answer", clientId, requestId: frame.requestId, token: frame.token };
      case "token_failed":
        return { type: "token_failure", clientId, requestId: frame.requestId };
      case "disconnect":
        return { type: "disconnect", clientId, clearSavedData: frame.clearSavedData };
    }
  }

  /** The open sockets that are the session's clients (verified or provisional), oldest first. */
  private clients(): WebSocket[] {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws.readyState === WebSocket.OPEN && isClient(attachmentOf(ws)))
      .sort((a, b) => attachmentOf(a).attachedAt - attachmentOf(b).attachedAt);
  }

  private async dispatch(event: SessionEvent): Promise<void> {
    const clients = this.clients()
      .map((ws) => attachmentOf(ws).clientId)
      .filter((id) => event.type !== "client_left" || id !== event.clientId);
    const before = this.state;
    const { state, effects } = transition(before, event, { now: this.clock.now(), random: Math.random, clients });
    const changed = JSON.stringify(state) !== JSON.stringify(before);
    this.state = state;
    reportSessionStatus(this.env, this.currentRoute(), this.ctx.id.toString(), before, state);
    // An event that changes nothing writes nothing: a webhook for a user with no session must not
    // leave an object with storage behind.
    if (changed && !effects.some((fx) => fx.type === "clear_data")) this.ctx.storage.kv.put(STATE_KEY, state);
    if (isActive(before) && !isActive(state)) this.releaseSessionSlot();
    this.settleProvisional(event, state);
    for (const fx of effects) await this.perform(fx, state);
  }

  private releaseSessionSlot(): void {
    const route = this.currentRoute();
    if (route) void registryStub(this.env).releaseSession(route.appId, this.ctx.id.toString()).catch(() => {});
  }

  /** `state` is the transition's own: a later transition may already have replaced this.state. */
  private async perform(fx: Effect, state: SessionState): Promise<void> {
    switch (fx.type) {
      case "request_token": {
        if (fx.clientId === SERVER_SOURCE) {
          void this.askServer(fx);
          return;
        }

        // No source available: the request waits for a client to attach, or the attempt times out.
        if (fx.clientId === undefined) return;
        const frame: ServerFrame = { type: "token_request", requestId: fx.requestId, userId: fx.userId, attempt: fx.attempt };
        if (fx.expiresAt !== undefined) frame.expiresAt = fx.expiresAt;
        for (const ws of this.ctx.getWebSockets(fx.clientId)) send(ws, frame);
        return;
      }
      // Not awaited: the answer comes back as an event. If the object is evicted meanwhile, the
      // call's deadline (a duty in the state) turns the lost answer into "unavailable".
      case "open_remote":
        void this.openRemote(fx);
        return;
      case "close_remote":
        void this.closeRemote(fx);
        return;
      case "set_alarm":
        return this.armAlarm();
      case "broadcast": {
        const clients = this.clients();
        sendAll(clients, { type: "state", state: view(state) });
        // Keeps every client's resume credential fresh while the session lives.
        const verified = clients.filter((ws) => attachmentOf(ws).verified);
        const resume = state === this.state && verified.length > 0 ? await this.resumeFrame() : undefined;
        if (resume) sendAll(verified, resume);
        return;
      }
      case "reply_error": {
        const frame = errorFrame(fx.code, fx.requestId === undefined ? {} : { requestId: fx.requestId });
        for (const ws of fx.clientId === undefined ? [] : this.ctx.getWebSockets(fx.clientId)) send(ws, frame);
        return;
      }
      case "clear_data":
        await this.ctx.storage.deleteAlarm();
        await this.ctx.storage.deleteAll();
        sendAll(this.clients(), { type: "data_cleared" });
        return;
    }
  }

  /**
   * Arms the alarm for the current state's earliest duty, not the effect's own time: a remote
   * answer may run a newer transition while this one is still performing its effects.
   */
  private async armAlarm(): Promise<void> {
    const at = nextDue(this.state);
    if (at === undefined) return this.ctx.storage.deleteAlarm();
    // Alarms have whole-millisecond times, and local workerd drops one set for "now" from inside
    // alarm(): round up, and never arm in the past.
    await this.ctx.storage.setAlarm(Math.max(Math.ceil(this.clock.toRealTime(at)), Date.now() + 1));
  }

  private async openRemote(fx: Extract<Effect, { type: "open_remote" }>): Promise<void> {
    const route = this.currentRoute();
    let event: SessionEvent;
    let roomEnded = false;
    try {
      if (!route) throw new Error("no route stored for an active session");
      const result = await this.remote.openSession({
        appId: route.appId,
        environment: route.app.environment,
        region: route.app.region,
        credential: fx.credential,
        now: this.clock.now(),
      });
      if (result.ok && result.roomId !== undefined && fx.credential.kind === "access_link") {
        // So Kaleyra's room-ended webhook can find this session (worker/webhooks.ts); a room that
        // ended while this open was in flight ends the call as soon as it connects.
        roomEnded = !(await registryStub(this.env).indexRoomSession(route.appId, result.roomId, this.ctx.id.toString()));
      }
      event = result.ok ? openedEvent(fx.requestId, result) : { type: "remote_failed", requestId: fx.requestId, error: result.error };
    } catch (err) {
      console.warn("remote open failed", { requestId: fx.requestId, error: String(err) });
      event = { type: "remote_failed", requestId: fx.requestId, error: "unavailable" };
    }
    await this.dispatch(event);
    if (roomEnded) await this.dispatch({ type: "call_ended" });
  }

  /** Asks the app's server-side token source; its answer comes back as the SERVER_SOURCE client's. */
  private async askServer(fx: Extract<Effect, { type: "request_token" }>): Promise<void> {
    const route = this.currentRoute();
    const settings = route?.app.serverTokens;
    const secrets = route && settings ? await registryStub(this.env).getAppSecrets(route.appId) : null;
    const result =
      route && settings && secrets
        ? await fetchServerToken(
            {
              appId: route.appId,
              userId: fx.userId,
              requestId: fx.requestId,
              environment: route.app.environment,
              region: route.app.region,
              settings,
              secrets,
              timeoutMs: this.state.policy?.tokenAttemptTimeoutMs ?? DEFAULT_RETRY_POLICY.tokenAttemptTimeoutMs,
            },
            { minter: this.remote, fetch: (request) => fetch(request), nowSec: () => this.clock.now() / 1_000 },
          )
        : { ok: false as const, reason: "no server-side token source configured" };
    if (!result.ok) console.warn("server token attempt failed", { requestId: fx.requestId, reason: result.reason });
    await this.dispatch(
      result.ok
        ? { type: "token_answer", clientId: SERVER_SOURCE, requestId: fx.requestId, token: result.token }
        : { type: "token_failure", clientId: SERVER_SOURCE, requestId: fx.requestId },
    );
  }

  private async closeRemote({ requestId, remoteSessionId }: Extract<Effect, { type: "close_remote" }>): Promise<void> {
    const route = this.currentRoute();
    try {
      if (route) {
        const request: CloseSessionRequest = { appId: route.appId, environment: route.app.environment, region: route.app.region };
        if (this.state.userId !== undefined) request.userId = this.state.userId;
        if (remoteSessionId !== undefined) request.sessionId = remoteSessionId;
        await this.remote.closeSession(request);
      }
    } catch (err) {
      // Closing is best effort: the remote session ends by itself when its token expires.
      console.warn("remote close failed", { requestId, error: String(err) });
    }
    await this.dispatch({ type: "remote_closed", requestId });
  }

  /** The stored route, or any attached socket's (storage is cleared by clearSavedData). */
  private currentRoute(): SessionRoute | undefined {
    return this.ctx.storage.kv.get<SessionRoute>(ROUTE_KEY) ?? this.ctx.getWebSockets().map(attachmentOf)[0]?.route;
  }

  // ---- tenant API (worker/tenant.ts): begin --------------------------------------------------

  /** The session as its clients see it, and how many clients are attached. */
  describe(): { view: ReturnType<typeof view>; clients: number } {
    return { view: view(this.state), clients: this.clients().length };
  }

  /** Ends the session as a client's disconnect(clearSavedData) would; answers the result. */
  async end(clearSavedData: boolean): Promise<{ view: ReturnType<typeof view>; clients: number }> {
    await this.dispatch({ type: "disconnect", clearSavedData: clearSavedData === true });
    return this.describe();
  }

  // ---- tenant API: end -----------------------------------------------------------------------


}

function openedEvent(requestId: string, result: Extract<OpenSessionResult, { ok: true }>): SessionEvent {
  const event: Extract<SessionEvent, { type: "remote_opened" }> = { type: "remote_opened", requestId, userId: result.userId };
  if (result.expiresAt !== undefined) event.expiresAt = result.expiresAt;
  if (result.sessionId !== undefined) event.remoteSessionId = result.sessionId;
  return event;
}

function parseRoute(header: string | null): SessionRoute | undefined {
  if (header === null) return undefined;
  try {
    const route = JSON.parse(header) as SessionRoute;
    return typeof route.appId === "string" && typeof route.key === "object" && typeof route.app === "object" ? route : undefined;
  } catch {
    return undefined;
  }
}
