/**
 * The emulator's Socket.IO endpoint (`/sdk/socket/`, WebSocket transport only), server side of
 * Kaleyra's realtime connection as KALEYRA-FACTS.md describes it: Engine.IO open packet, CONNECT
 * with the `auth` payload judged like Kaleyra (credentials.ts), `switchboard:connected`, acks for
 * `switchboard:access_token:update`, `switchboard:access_token:expired` when a connection's token
 * runs out (checked on the alarm), other server events pushed through the control API. Any other
 * client event that asks for an ack is answered `{ status: 200, data: { echo: <its first arg> } }`.
 * Sockets are hibernatable (ctx.acceptWebSocket); each one's state lives in its attachment, so
 * nothing is lost when the object sleeps. The heartbeat is driven by the object's alarm (no
 * interval timer): every socket is pinged at its pingInterval and closed when its pong is late.
 * Invariants: the first Socket.IO packet must be CONNECT, else the socket is closed; a bad frame
 * closes the socket; every attachment write merges into the latest attachment (messages interleave
 * across the awaits of token checks).
 */
import { EVENT_CLIENT_DEPRECATED, EVENT_CONNECTED, EVENT_FORCE_DISCONNECT, EVENT_TOKEN_ABOUT_TO_EXPIRE, EVENT_TOKEN_EXPIRED, EVENT_TOKEN_UPDATE } from "../../core/kaleyra-events";
import { decodeFrame, encodeEngine, socketFrame, type SocketPacket } from "../../remote/socketio";
import { judgeLink, judgeToken } from "./credentials";
import { close, send, stateOf, update, type SocketState } from "./socket-state";
import { randomCode, type EmulatorStore } from "./store";

export interface SocketHost {
  accept(ws: WebSocket): void;
  sockets(): WebSocket[];
  /** Arms the object's alarm at `at` unless it is already armed earlier. */
  wakeAt(at: number): Promise<void>;
  /** Real time (heartbeats), not the emulator's offset clock (tokens). */
  realNow(): number;
}

export const SOCKET_EVENTS = {
  aboutToExpire: EVENT_TOKEN_ABOUT_TO_EXPIRE,
  expired: EVENT_TOKEN_EXPIRED,
  forceDisconnect: EVENT_FORCE_DISCONNECT,
  deprecated: EVENT_CLIENT_DEPRECATED,
} as const;
const MAX_PAYLOAD = 1_000_000;

export class EmulatorSockets {
  constructor(
    private readonly host: { readonly store: EmulatorStore; now(): number },
    private readonly sockets: SocketHost,
  ) {}

  /** The upgrade request: checks the Engine.IO query, accepts, sends the open packet. */
  async upgrade(request: Request): Promise<Response> {
    const query = new URL(request.url).searchParams;
    if (query.get("EIO") !== "4") return plain(400, "EIO=4 is required (Engine.IO protocol v4)");
    const transport = query.get("transport");
    if (transport !== "websocket") return plain(400, "the emulator serves the websocket transport only: use transport=websocket (HTTP long-polling is not emulated)");
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return plain(426, "send Upgrade: websocket");
    const faults = this.host.store.realtimeFaults();
    const now = this.sockets.realNow();
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.sockets.accept(server);
    const state: SocketState = {
      eioSid: randomCode(15),
      state: "awaiting_connect",
      pingIntervalMs: faults.pingIntervalMs,
      pingTimeoutMs: faults.pingTimeoutMs,
      nextPingAt: now + faults.pingIntervalMs,
      lastPingAt: null,
      lastPongAt: null,
      nextAckId: 0,
    };
    server.serializeAttachment(state);
    server.send(encodeEngine({ type: "open", open: { sid: state.eioSid, upgrades: [], pingInterval: state.pingIntervalMs, pingTimeout: state.pingTimeoutMs, maxPayload: MAX_PAYLOAD } }));
    await this.sockets.wakeAt(state.nextPingAt);
    return new Response(null, { status: 101, webSocket: client });
  }

  async message(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const decoded = decodeFrame(data);
    if (!decoded.ok) return close(ws, 1002, `protocol error: ${decoded.error.code}`);
    const frame = decoded.frame;
    switch (frame.type) {
      case "pong": {
        const s = update(ws, { lastPongAt: this.sockets.realNow() });
        if (s) await this.sockets.wakeAt(s.nextPingAt); // the alarm may be waiting for the pong deadline
        return;
      }
      case "close":
        return close(ws, 1000, "client closed");
      case "socket":
        return this.onPacket(ws, frame.packet);
      default:
        return; // ping, upgrade, noop from a client: nothing to do over WebSocket
    }
  }

  /**
   * Pings every socket that is due, closes those whose pong is late, tells a connection whose token
   * ran out (`switchboard:access_token:expired`, once per token), re-arms for the next due time.
   */
  async heartbeat(): Promise<void> {
    const now = this.sockets.realNow();
    const emulatorNow = this.host.now();
    const stopPinging = this.host.store.realtimeFaults().stopPinging;
    let next = Infinity;
    for (const ws of this.sockets.sockets()) {
      const s = stateOf(ws);
      if (!s || ws.readyState !== WebSocket.OPEN) continue;
      if (s.state === "connected" && s.expiresAt != null && !s.expiredSent) {
        if (emulatorNow >= s.expiresAt) {
          if (send(ws, socketFrame({ type: "event", nsp: "/", name: EVENT_TOKEN_EXPIRED, args: [] }))) update(ws, { expiredSent: true });
        } else {
          next = Math.min(next, now + (s.expiresAt - emulatorNow)); // the emulator's clock may be offset
        }
      }
      const awaitingPong = s.lastPingAt !== null && (s.lastPongAt === null || s.lastPongAt < s.lastPingAt);
      if (awaitingPong && now >= (s.lastPingAt as number) + s.pingTimeoutMs) {
        close(ws, 4000, "pong timeout");
        continue;
      }
      if (awaitingPong) {
        // As Engine.IO servers do: no next ping until this one is answered or timed out.
        next = Math.min(next, (s.lastPingAt as number) + s.pingTimeoutMs);
        continue;
      }
      if (now >= s.nextPingAt) {
        const patch: Partial<SocketState> = { nextPingAt: now + s.pingIntervalMs };
        if (!stopPinging && send(ws, "2")) patch.lastPingAt = now;
        Object.assign(s, update(ws, patch));
      }
      const pongDue = s.lastPingAt === now ? now + s.pingTimeoutMs : Infinity;
      next = Math.min(next, s.nextPingAt, pongDue);
    }
    if (next !== Infinity) await this.sockets.wakeAt(next);
  }

  /** The open sockets, optionally of one app (and user). */
  list(appId?: string, userId?: string): { ws: WebSocket; state: SocketState }[] {
    const out: { ws: WebSocket; state: SocketState }[] = [];
    for (const ws of this.sockets.sockets()) {
      const state = stateOf(ws);
      if (state && (appId === undefined || state.appId === appId) && (userId === undefined || state.userId === userId)) out.push({ ws, state });
    }
    return out;
  }

  /** Emits a server event to a user's connected sockets; force_disconnect asks for an ack. No data: no argument. */
  emit(appId: string, userId: string | undefined, event: string, data: unknown): number {
    const args = data === undefined ? [] : [data];
    let delivered = 0;
    for (const { ws, state } of this.list(appId, userId)) {
      if (state.state !== "connected") continue;
      if (event === SOCKET_EVENTS.forceDisconnect) {
        if (forceOut(ws, state, args)) delivered++;
      } else if (send(ws, socketFrame({ type: "event", nsp: "/", name: event, args }))) delivered++;
    }
    return delivered;
  }

  /** Closes sockets without an Engine.IO close packet: a dropped connection. */
  drop(appId: string, userId?: string): number {
    const sockets = this.list(appId, userId);
    for (const { ws } of sockets) close(ws, 4001, "dropped by the emulator");
    return sockets.length;
  }

  /** A call ended: its access-link connections get a Socket.IO DISCONNECT and are closed. */
  endRoom(appId: string, roomId: string): number {
    let ended = 0;
    for (const { ws, state } of this.list(appId)) {
      if (state.kind !== "access_link" || state.roomId !== roomId) continue;
      send(ws, socketFrame({ type: "disconnect", nsp: "/" }));
      close(ws, 1000, "the call ended");
      ended++;
    }
    return ended;
  }

  private async onPacket(ws: WebSocket, packet: SocketPacket): Promise<void> {
    const s = stateOf(ws);
    if (!s) return close(ws, 1011, "lost state");
    if (s.state !== "connected") {
      if (packet.type !== "connect" || s.state === "held") return close(ws, 1002, "the first packet must be CONNECT");
      return this.onConnect(ws, packet);
    }
    switch (packet.type) {
      case "disconnect":
        return close(ws, 1000, "client disconnected");
      case "ack":
        if (packet.id === s.forceAckId) {
          send(ws, socketFrame({ type: "disconnect", nsp: "/" }));
          close(ws, 1000, "user disconnected by force");
        }
        return;
      case "event":
        if (packet.name === EVENT_TOKEN_UPDATE && packet.id !== undefined) return this.onTokenUpdate(ws, s, packet.id, packet.args[0]);
        // Generic answer to any other acked event (the relay's emits): an echo of its first argument.
        if (packet.id !== undefined) send(ws, socketFrame({ type: "ack", nsp: "/", id: packet.id, args: [{ status: 200, data: { echo: packet.args[0] ?? null } }] }));
        return;
      default:
        return close(ws, 1002, `unexpected ${packet.type}`);
    }
  }

  private async onConnect(ws: WebSocket, packet: Extract<SocketPacket, { type: "connect" }>): Promise<void> {
    const refuse = (name: string) => send(ws, socketFrame({ type: "connect_error", nsp: packet.nsp, data: { message: name } }));
    if (packet.nsp !== "/") return void refuse("invalid_namespace");
    const faults = this.host.store.realtimeFaults();
    if (faults.connectRefusal !== null) return void refuse(faults.connectRefusal);
    if (faults.connectHang) return void update(ws, { state: "held" });
    const auth = packet.data ?? {};
    const app = typeof auth["app-id"] === "string" ? this.host.store.app(auth["app-id"]) : undefined;
    if (!app) return void refuse("app_id_invalid");
    this.host.store.countConnect(app.app_id);
    const version = auth["sdk-version"];
    if (typeof version !== "string" || !/^\d{1,4}\.\d{1,4}\.\d{1,4}([-+.][0-9A-Za-z.-]{1,32})?$/.test(version) || typeof auth["sdk-name"] !== "string") {
      return void refuse("sdk_version_invalid");
    }
    const token = auth["access-token"];
    const link = auth["access-link"];
    const userId = auth["user-id"];
    let judged;
    if (typeof token === "string" && link === undefined) {
      if (userId !== undefined && userId !== null && typeof userId !== "string") return void refuse("access_token_invalid_user");
      judged = await judgeToken(this.host.store, app, token, typeof userId === "string" ? userId : undefined, this.host.now());
    } else if (typeof link === "string" && token === undefined) {
      judged = judgeLink(this.host.store, app, link);
    } else {
      return void refuse(link === undefined ? "access_token_invalid" : "invalid_access_link");
    }
    // An inactive user is let in and disconnected at once, before switchboard:connected, as Kaleyra
    // tells a deactivated user (user:force_disconnect); a CONNECT_ERROR name for it is not documented.
    if (!judged.ok && judged.name !== "user_inactive") return void refuse(judged.name);
    const sioSid = randomCode(15);
    const target = judged.ok ? judged : undefined;
    const previous = auth["socket-id"];
    update(ws, {
      state: "connected",
      appId: app.app_id,
      userId: target?.userId ?? (typeof userId === "string" ? userId : ""),
      kind: target?.kind ?? (typeof token === "string" ? "token" : "access_link"),
      roomId: target?.roomId ?? null,
      expiresAt: target?.expiresAt ?? null,
      sioSid,
      // A reconnect names the connection it replaces [web]; recorded so tests can see it on the wire.
      previousSocketId: typeof previous === "string" && previous.length <= 64 ? previous : null,
    });
    send(ws, socketFrame({ type: "connect", nsp: "/", data: { sid: sioSid } }));
    const connected = stateOf(ws);
    if (!judged.ok) return void (connected && forceOut(ws, connected, [{ reason: "user_disabled" }]));
    // A link connection's user names its room (our choice [none]: Kaleyra's payload is not documented),
    // so the session can index the room for the room webhooks.
    const user = { userId: target?.userId ?? userId, ...(target?.kind === "access_link" && target.roomId ? { roomId: target.roomId } : {}) };
    send(ws, socketFrame({ type: "event", nsp: "/", name: EVENT_CONNECTED, args: [{ user, company: { id: app.company_id } }] }));
  }

  private async onTokenUpdate(ws: WebSocket, s: SocketState, id: number, arg: unknown): Promise<void> {
    const answer = (payload: Record<string, unknown>) => send(ws, socketFrame({ type: "ack", nsp: "/", id, args: [payload] }));
    const refusal = this.host.store.realtimeFaults().tokenUpdateRefusal;
    if (refusal !== null) return void answer({ error: refusal });
    const token = typeof arg === "object" && arg !== null ? (arg as Record<string, unknown>).accessToken : undefined;
    const app = s.appId === undefined ? undefined : this.host.store.app(s.appId);
    if (typeof token !== "string" || !app || s.kind !== "token") return void answer({ error: "access_token_invalid" });
    const judged = await judgeToken(this.host.store, app, token, s.userId, this.host.now());
    if (!judged.ok) return void answer({ error: judged.name });
    update(ws, { expiresAt: judged.expiresAt, expiredSent: false });
    answer({ status: 200, data: { expiresAt: new Date(judged.expiresAt as number).toISOString() } });
  }
}

/** `user:force_disconnect` with an ack id; the socket is closed when the client acknowledges it. */
function forceOut(ws: WebSocket, state: SocketState, args: unknown[]): boolean {
  update(ws, { forceAckId: state.nextAckId, nextAckId: state.nextAckId + 1 });
  return send(ws, socketFrame({ type: "event", nsp: "/", id: state.nextAckId, name: SOCKET_EVENTS.forceDisconnect, args }));
}

function plain(status: number, message: string): Response {
  return Response.json({ error: "bad_request", message }, { status });
}
