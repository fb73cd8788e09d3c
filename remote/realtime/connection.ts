/**
 * One realtime connection to Kaleyra (Socket.IO v5 over Engine.IO v4 on a WebSocket), client side.
 * The owner opens the socket, feeds it frames (`receive`) and its end (`socketClosed`), and drives
 * time: `nextDeadline()` says when something falls due and `check(now)` fails what is overdue.
 * Nothing here sets a timer, so a Durable Object can run all of it from its one alarm.
 *
 * Handshake: Engine.IO open -> CONNECT with the auth payload -> Socket.IO CONNECT (socket id) ->
 * `switchboard:connected {user, company}` = connected. A CONNECT_ERROR is "refused" with its name.
 * Other events arriving between CONNECT and switchboard:connected are reported as they come (the
 * order Kaleyra uses is not documented); any event before CONNECT's answer is a protocol error.
 * Invariants: exactly one terminal report (refused, lost, or force_disconnect) and nothing after
 * it; after it the socket is closed and every pending token update is settled. Pings are answered
 * at once; no ping within pingInterval + pingTimeout of the open packet or the last ping is lost.
 */
import { decodeFrame, encodeEngine, socketFrame, type EngineOpen, type SocketPacket } from "../socketio";
import type { RealtimeAuth } from "./auth";
import type { AckResult, ConnectionState, LostReason, RealtimeReport, TokenUpdateResult } from "./reports";
import {
  EVENT_CLIENT_DEPRECATED,
  EVENT_CONNECTED,
  EVENT_FORCE_DISCONNECT,
  EVENT_TOKEN_ABOUT_TO_EXPIRE,
  EVENT_TOKEN_EXPIRED,
  EVENT_TOKEN_UPDATE,
} from "../../core/kaleyra-events";
import { connectErrorName } from "./events";
import { isObject } from "../../core/object";
import { HANDSHAKE_TIMEOUT_MS } from "../../core/port";

/** The part of a WebSocket this class writes to. */
export interface RealtimeSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/** Kaleyra answers acks within 10 s [web]; the handshake gets the same bound (our choice, core/port.ts). */
export const ACK_TIMEOUT_MS = 10_000;

export interface RealtimeConnectionOptions {
  socket: RealtimeSocket;
  auth: RealtimeAuth;
  now(): number;
  report(report: RealtimeReport): void;
  handshakeTimeoutMs?: number;
  ackTimeoutMs?: number;
}

interface PendingAck {
  deadline: number;
  settle(result: AckResult): void;
}

export class RealtimeConnection {
  private currentState: ConnectionState = "opening";
  private engine: EngineOpen | undefined;
  private sid: string | undefined;
  private lastPing: number | undefined;
  private readonly handshakeDeadline: number;
  private readonly acks = new Map<number, PendingAck>();
  private nextAckId = 0;

  constructor(private readonly options: RealtimeConnectionOptions) {
    this.handshakeDeadline = options.now() + (options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The Socket.IO socket id once CONNECT was answered: send it as `socket-id` on a reconnect. */
  get socketId(): string | undefined {
    return this.sid;
  }

  /** The Engine.IO handshake data, once the open packet arrived. */
  get engineOpen(): EngineOpen | undefined {
    return this.engine;
  }

  /** When the server last pinged (or the open packet arrived), on the injected clock. */
  get lastPingAt(): number | undefined {
    return this.lastPing;
  }

  /** The moment the connection counts as dead without another ping. */
  livenessDeadline(): number | undefined {
    if (this.engine === undefined || this.lastPing === undefined) return undefined;
    return this.lastPing + this.engine.pingInterval + this.engine.pingTimeout;
  }

  /** The earliest of: the handshake deadline, an emit's ack deadline, the liveness deadline. */
  nextDeadline(): number | undefined {
    if (this.currentState === "closed") return undefined;
    const times: number[] = [...this.acks.values()].map((a) => a.deadline);
    if (this.currentState !== "connected") times.push(this.handshakeDeadline);
    const liveness = this.livenessDeadline();
    if (liveness !== undefined) times.push(liveness);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /** Fails what is overdue at `now`: acked emits time out; a late handshake or a silent server is lost. */
  check(now: number): void {
    if (this.currentState === "closed") return;
    for (const [id, ack] of this.acks) {
      if (now >= ack.deadline) {
        this.acks.delete(id);
        ack.settle({ ok: false, reason: "timeout" });
      }
    }
    if (this.currentState !== "connected" && now >= this.handshakeDeadline) return this.lose("handshake_timeout");
    const liveness = this.livenessDeadline();
    if (liveness !== undefined && now >= liveness) this.lose("ping_timeout");
  }

  /** One text frame from the socket. */
  receive(data: unknown): void {
    if (this.currentState === "closed") return;
    const decoded = decodeFrame(data);
    if (!decoded.ok) return this.lose("protocol_error", `${decoded.error.code}: ${decoded.error.message}`);
    const frame = decoded.frame;
    switch (frame.type) {
      case "open":
        if (this.engine !== undefined) return this.lose("protocol_error", "a second open packet");
        this.engine = frame.open;
        this.lastPing = this.options.now();
        this.currentState = "connecting";
        this.write({ type: "connect", nsp: "/", data: this.options.auth as unknown as Record<string, unknown> });
        return;
      case "ping":
        this.lastPing = this.options.now();
        this.send(encodeEngine({ type: "pong", data: frame.data }));
        return;
      case "close":
        return this.lose("server_close");
      case "pong":
      case "upgrade":
      case "noop":
        return;
      case "socket":
        if (this.engine === undefined) return this.lose("protocol_error", "a message before the open packet");
        return this.onSocketPacket(frame.packet);
    }
  }

  /** The socket closed or failed (the owner's close/error listener). */
  socketClosed(detail?: string): void {
    if (this.currentState === "closed") return;
    this.lose("socket_closed", detail);
  }

  /** Ends the connection on the owner's request; reports "lost" with reason closed_by_owner. */
  close(): void {
    if (this.currentState === "closed") return;
    if (this.currentState === "connected") this.write({ type: "disconnect", nsp: "/" });
    this.lose("closed_by_owner");
  }

  /** `switchboard:access_token:update {accessToken}` with an ack: a refresh on the live connection. */
  async updateToken(accessToken: string): Promise<TokenUpdateResult> {
    const answer = await this.emitWithAck(EVENT_TOKEN_UPDATE, [{ accessToken }]);
    if (!answer.ok) return answer;
    const ack = answer.args[0];
    if (isObject(ack) && ack.error !== undefined) return { ok: false, reason: "refused", error: typeof ack.error === "string" ? ack.error : JSON.stringify(ack.error) };
    if (isObject(ack) && ack.status === 200) return { ok: true };
    return { ok: false, reason: "refused", error: "unexpected_ack" };
  }

  /**
   * An EVENT with an ack id; settles with the server's ack arguments, or `timeout` past the ack
   * deadline (run by `check`), `lost` when the connection ends first, `not_connected` before.
   */
  emitWithAck(name: string, args: unknown[]): Promise<AckResult> {
    if (this.currentState !== "connected") return Promise.resolve({ ok: false, reason: "not_connected" });
    const id = this.nextAckId++;
    return new Promise((resolve) => {
      this.acks.set(id, { deadline: this.options.now() + (this.options.ackTimeoutMs ?? ACK_TIMEOUT_MS), settle: resolve });
      this.write({ type: "event", nsp: "/", id, name, args });
    });
  }

  /** Answers a server event that asked for an ack (see the server_event report). */
  acknowledge(ackId: number, args: unknown[] = []): void {
    if (this.currentState === "connected") this.write({ type: "ack", nsp: "/", id: ackId, args });
  }

  private onSocketPacket(packet: SocketPacket): void {
    if (packet.nsp !== "/") return this.lose("protocol_error", `a packet for namespace ${packet.nsp}`);
    switch (packet.type) {
      case "connect": {
        const sid = packet.data?.sid;
        if (typeof sid !== "string" || sid.length === 0) return this.lose("protocol_error", "CONNECT without a socket id");
        this.sid = sid;
        return;
      }
      case "connect_error":
        return this.finish({ type: "refused", name: connectErrorName(packet.data) });
      case "disconnect":
        return this.lose("server_disconnect");
      case "ack":
        return this.onAck(packet.id, packet.args);
      case "event":
        return this.onEvent(packet.name, packet.args, packet.id);
    }
  }

  private onEvent(name: string, args: unknown[], ackId: number | undefined): void {
    const data = args[0];
    const field = (key: string): unknown => (isObject(data) ? data[key] : undefined);
    if (this.sid === undefined) return this.lose("protocol_error", `event '${name}' before the Socket.IO CONNECT answer`);
    switch (name) {
      case EVENT_CONNECTED:
        if (this.currentState !== "connecting") return; // a repeat changes nothing
        this.currentState = "connected";
        return this.options.report({ type: "connected", user: field("user"), company: field("company"), socketId: this.sid });
      case EVENT_FORCE_DISCONNECT:
        if (ackId !== undefined) this.write({ type: "ack", nsp: "/", id: ackId, args: [] });
        return this.finish({ type: "force_disconnect", ...(field("reason") === undefined ? {} : { reason: field("reason") }) });
      case EVENT_TOKEN_ABOUT_TO_EXPIRE: {
        const expiresAt = field("expiresAt");
        return this.options.report({ type: "token_about_to_expire", ...(typeof expiresAt === "string" ? { expiresAt } : {}) });
      }
      case EVENT_TOKEN_EXPIRED:
        return this.options.report({ type: "token_expired" });
      case EVENT_CLIENT_DEPRECATED: {
        const deprecationDate = field("deprecationDate");
        const endOfSupportDate = field("endOfSupportDate");
        return this.options.report({
          type: "client_deprecated",
          ...(typeof deprecationDate === "string" ? { deprecationDate } : {}),
          ...(typeof endOfSupportDate === "string" ? { endOfSupportDate } : {}),
        });
      }
      default:
        return this.options.report({ type: "server_event", name, args, ...(ackId === undefined ? {} : { ackId }) });
    }
  }

  private onAck(id: number, args: unknown[]): void {
    const pending = this.acks.get(id);
    if (!pending) return; // late (already timed out) or not ours: nothing waits for it
    this.acks.delete(id);
    pending.settle({ ok: true, args });
  }

  private write(packet: SocketPacket): void {
    this.send(socketFrame(packet));
  }

  private send(text: string): void {
    try {
      this.options.socket.send(text);
    } catch (err) {
      this.lose("socket_closed", `send failed: ${String(err)}`);
    }
  }

  private lose(reason: LostReason, detail?: string): void {
    this.finish(detail === undefined ? { type: "lost", reason } : { type: "lost", reason, detail });
  }

  /** The one terminal step: close the socket, settle pending acks, report once. */
  private finish(report: Extract<RealtimeReport, { type: "refused" | "lost" | "force_disconnect" }>): void {
    if (this.currentState === "closed") return;
    this.currentState = "closed";
    for (const ack of this.acks.values()) ack.settle({ ok: false, reason: "lost" });
    this.acks.clear();
    try {
      this.options.socket.close(1000, report.type);
    } catch {
      // already closed: nothing left to release
    }
    this.options.report(report);
  }
}
