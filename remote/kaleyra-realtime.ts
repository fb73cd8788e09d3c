/**
 * The user's live realtime connections to Kaleyra, as one session object's adapter holds them
 * (core/port.ts): Socket.IO over an outbound WebSocket (remote/realtime), one per open session.
 * `open` settles on `switchboard:connected` (or the CONNECT_ERROR, or the socket failing); what
 * Kaleyra says afterwards goes to the listener as notices.
 * Invariants:
 * - Connections live in memory only: an outbound WebSocket does not hibernate, and an adapter made
 *   after an eviction or a restart holds none, so `isAlive` is false for every earlier id.
 * - No timer of its own: `check()` (called on the session's alarms) and `isAlive` run the
 *   connections' deadlines; heartbeats are judged in real time (Date.now), not the session clock.
 * - Credentials travel only in the CONNECT packet; nothing here logs them.
 * - A server event the session reacts to (core/kaleyra-events.ts) becomes that session event; every
 *   other one a `remote_event` notice for the relay. One that asks for an ack is acknowledged at
 *   once with no arguments (we cannot know what Kaleyra expects back [none]).
 */
import { EVENT_FORCE_DISCONNECT, EVENT_TOKEN_ABOUT_TO_EXPIRE, EVENT_TOKEN_EXPIRED, SESSION_EVENT_OF, sessionEventOf } from "../core/kaleyra-events";
import { connectRefusal } from "../core/remote-errors";
import type { RemoteError } from "../core/session";
import { USER_ID_PATTERN } from "../core/protocol";
import { jwtExpiryMs, jwtUserId } from "../crypto/jwt";
import type { OpenSessionRequest, OpenSessionResult, RemoteEmitResult, RemoteListener, RemoteNotice, UpdateTokenResult } from "../core/port";
import {
  attachSocket,
  openRealtimeSocket,
  RealtimeConnection,
  realtimeAuth,
  realtimeUrl,
  type RealtimeClientInfo,
  type RealtimeReport,
  type SocketFetch,
} from "./realtime";
import { isObject } from "../core/object";

/** What kaleyra-edge says it is in the auth payload (our choice [none]; docs/remote.md). */
const CLIENT_INFO: RealtimeClientInfo = {
  sdkName: "kaleyra-edge",
  sdkVersion: "0.1.0",
  clientName: "kaleyra-edge",
  client: "server",
  userAgent: "kaleyra-edge (Cloudflare Workers)",
};

export interface RealtimeSessionsOptions {
  /** Opens the outbound socket (tests and the local composition pass the emulator's stub fetch). */
  fetch?: SocketFetch;
  /** The app's `kaleyra.realtimeUrl`, or a fixed base for the emulator. */
  baseUrl?: (request: OpenSessionRequest) => string | undefined;
  /** ws:// and http:// to loopback: the local composition only. */
  allowLocal?: boolean;
  now?: () => number;
}

export class RealtimeSessions {
  private readonly live = new Map<string, RealtimeConnection>();
  /** Connections whose handshake has not ended yet. */
  private readonly opening = new Set<RealtimeConnection>();
  private listener: RemoteListener | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RealtimeSessionsOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  listen(listener: RemoteListener): void {
    this.listener = listener;
  }

  async open(request: OpenSessionRequest): Promise<OpenSessionResult> {
    const baseUrl = request.realtimeUrl ?? this.options.baseUrl?.(request);
    const url = realtimeUrl({ environment: request.environment, region: request.region, ...(baseUrl === undefined ? {} : { baseUrl }), allowLocal: this.options.allowLocal === true });
    if (!url.ok) {
      console.warn("realtime URL refused", { reason: url.message });
      return { ok: false, error: "unavailable" };
    }
    const opened = await openRealtimeSocket(url.url, this.options.fetch === undefined ? {} : { fetch: this.options.fetch });
    if (!opened.ok) return { ok: false, error: "unavailable" };
    const credential = request.credential;
    const auth = realtimeAuth(request.appId, credential, CLIENT_INFO, request.previousSocketId);
    const id = crypto.randomUUID();
    return new Promise<OpenSessionResult>((resolve) => {
      let settled = false;
      const settle = (result: OpenSessionResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const connection: RealtimeConnection = new RealtimeConnection({
        socket: opened.socket,
        auth,
        now: this.now,
        report: (report) => {
          if (!settled) {
            // Connected, refused or lost: the handshake is over either way.
            if (report.type === "connected" || report.type === "refused" || report.type === "lost" || report.type === "force_disconnect") this.opening.delete(connection);
            return this.beforeConnected(report, id, connection, request, settle);
          }
          this.notice(id, report, connection);
        },
      });
      // Until Kaleyra answers, check() runs its handshake deadline: a silent server is lost, and
      // its socket closed, even after the session stopped waiting for this open.
      this.opening.add(connection);
      attachSocket(opened.socket, connection);
    });
  }

  /** Reports until `switchboard:connected`: they settle the open. */
  private beforeConnected(report: RealtimeReport, id: string, connection: RealtimeConnection, request: OpenSessionRequest, settle: (r: OpenSessionResult) => void): void {
    const credential = request.credential;
    switch (report.type) {
      case "connected": {
        this.live.set(id, connection);
        const userId = credential.kind === "token" ? credential.userId : userIdOf(report.user) ?? "guest";
        const expiresAt = credential.kind === "token" ? jwtExpiryMs(credential.token) : undefined;
        const roomId = credential.kind === "access_link" ? roomIdOf(report.user, report.company) : undefined;
        return settle({ ok: true, userId, sessionId: id, socketId: report.socketId, ...(expiresAt === undefined ? {} : { expiresAt }), ...(roomId === undefined ? {} : { roomId }) });
      }
      case "refused":
        return settle({ ok: false, error: errorOf(report.name) });
      case "force_disconnect":
        return settle({ ok: false, error: "user_inactive" });
      case "lost":
        return settle({ ok: false, error: "unavailable" });
      default:
        return; // events before switchboard:connected are Kaleyra's business
    }
  }

  private notice(id: string, report: RealtimeReport, connection: RealtimeConnection): void {
    let notice: RemoteNotice | undefined;
    switch (report.type) {
      case "lost":
        this.live.delete(id);
        if (report.reason === "closed_by_owner") return;
        notice = { type: "remote_lost", byServer: report.reason === "server_disconnect" || report.reason === "server_close" };
        break;
      case "force_disconnect":
        this.live.delete(id);
        notice = { type: SESSION_EVENT_OF[EVENT_FORCE_DISCONNECT] };
        break;
      case "token_about_to_expire":
        notice = { type: SESSION_EVENT_OF[EVENT_TOKEN_ABOUT_TO_EXPIRE] };
        break;
      case "token_expired":
        notice = { type: SESSION_EVENT_OF[EVENT_TOKEN_EXPIRED] };
        break;
      case "client_deprecated":
        notice = { type: "client_deprecated", ...(report.deprecationDate === undefined ? {} : { deprecationDate: report.deprecationDate }), ...(report.endOfSupportDate === undefined ? {} : { endOfSupportDate: report.endOfSupportDate }) };
        break;
      case "server_event":
        if (report.ackId !== undefined) connection.acknowledge(report.ackId);
        notice = sessionEventOf(report.name) ?? { type: "remote_event", name: report.name, data: report.args[0] ?? null };
        break;
      default:
        return; // "connected" again or "refused": only the open settles on them
    }
    this.listener?.(id, notice);
  }

  close(id: string): void {
    const connection = this.live.get(id);
    this.live.delete(id);
    connection?.close();
  }

  async updateToken(id: string, token: string): Promise<UpdateTokenResult> {
    const connection = this.live.get(id);
    if (!connection) return { ok: false, error: "unavailable" };
    const answer = await connection.updateToken(token);
    if (answer.ok) {
      const expiresAt = jwtExpiryMs(token);
      return expiresAt === undefined ? { ok: true } : { ok: true, expiresAt };
    }
    return { ok: false, error: answer.reason === "refused" ? "token_invalid" : "unavailable" };
  }

  /** The client's event with an ack: Kaleyra's `{ status: 200, data }` gives data, `{ error }` a refusal. */
  async emit(id: string, name: string, data: unknown): Promise<RemoteEmitResult> {
    const connection = this.live.get(id);
    if (!connection) return { ok: false, error: "not_connected" };
    const answer = await connection.emitWithAck(name, data === undefined ? [] : [data]);
    if (!answer.ok) return { ok: false, error: answer.reason === "timeout" ? "remote_timeout" : "not_connected" };
    const ack = answer.args[0];
    if (isObject(ack) && ack.error !== undefined) return { ok: false, error: "remote_refused" };
    // Kaleyra's acks are { status: 200, data } [web]; any other answer is passed on as it came.
    if (isObject(ack) && ack.status === 200) return { ok: true, data: ack.data ?? null };
    return { ok: true, data: ack ?? null };
  }

  isAlive(id: string): boolean {
    this.live.get(id)?.check(this.now());
    return this.live.has(id);
  }

  check(): void {
    const now = this.now();
    for (const connection of [...this.opening, ...this.live.values()]) connection.check(now);
  }

  /** The earliest deadline of every connection: a handshake, an ack, a heartbeat. */
  nextDeadline(): number | undefined {
    const times = [...this.opening, ...this.live.values()].map((c) => c.nextDeadline()).filter((t): t is number => t !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  tokenUserId(token: string): string | undefined {
    return jwtUserId(token);
  }
}

/** What a refused CONNECT means (core/remote-errors.ts), as the port's error. */
function errorOf(name: string): RemoteError {
  const refusal = connectRefusal(name);
  if (refusal.outcome === "token_failed") return refusal.error;
  if (refusal.outcome === "session_ends") return refusal.reason;
  return "unavailable";
}

/** The user of `switchboard:connected`; its shape is not documented [none]: userId, id or a string. */
function userIdOf(user: unknown): string | undefined {
  if (typeof user === "string") return user;
  if (typeof user !== "object" || user === null) return undefined;
  const u = user as Record<string, unknown>;
  const id = u.userId ?? u.user_id ?? u.id;
  return typeof id === "string" && USER_ID_PATTERN.test(id) ? id : undefined;
}

/** A link connection's room, when Kaleyra names it in `switchboard:connected` [none]: then room webhooks find the session. */
function roomIdOf(...parts: unknown[]): string | undefined {
  for (const p of parts) {
    if (typeof p !== "object" || p === null) continue;
    const o = p as Record<string, unknown>;
    const room = o.roomId ?? o.room_id ?? (typeof o.room === "object" && o.room !== null ? (o.room as Record<string, unknown>).id : undefined);
    if (typeof room === "string" && /^[A-Za-z0-9_-]{1,128}$/.test(room)) return room;
  }
  return undefined;
}
