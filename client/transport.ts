/**
 * The socket under KaleyraVideo (as partysocket keeps its socket apart from its API): opens it,
 * keeps it alive, replaces it on a network change, reopens it after a jittered backoff, waits for
 * the network. It knows nothing of sessions: frames go up as text, and the facade decides.
 * Invariants:
 * - At most one socket; a socket closed or replaced never reaches a handler again.
 * - A 4xxx close is a refusal: reported, never reopened. Any other close reopens.
 * - Keep-alive: a "ping" every PING_EVERY_MS; no "pong" by the next one replaces the socket.
 */
import type { OnlineStatus, Timers, WebSocketConstructor, WebSocketLike } from "./platform";

/** idle: no socket wanted. waiting: reopening after a backoff. offline: waiting for the network. */
export type Transport = "idle" | "opening" | "open" | "waiting" | "offline";

export interface SocketEvents {
  /** Where the next socket opens (asked at every open). */
  url(): string;
  /** "opening" means a new socket: frames on it answer nothing sent on an older one. */
  status(change: { transport: Transport; nextOpenAt?: number }): void;
  /** A frame other than the keep-alive's "pong". */
  message(data: unknown): void;
  /** The server closed the socket with a 4xxx code; it is not reopened. */
  refused(code: number): void;
}

const OPEN = 1;
/** Socket reopen backoff: full jitter over 0.5 s doubling up to 30 s. */
const REOPEN_BASE_MS = 500;
const REOPEN_CAP_MS = 30_000;
/** Keep-alive: a "ping" every period; no "pong" by the next one means the socket is dead. */
export const PING_EVERY_MS = 25_000;

export function reopenDelay(attempt: number, random: () => number): number {
  return random() * Math.min(REOPEN_CAP_MS, REOPEN_BASE_MS * 2 ** attempt);
}

export class ReconnectingSocket {
  #ws?: WebSocketLike;
  #attempt = 0;
  #reopenTimer?: unknown;
  #stopWatchingOnline?: () => void;
  #heartbeat?: unknown;
  #awaitingPong = false;
  /** While a socket is open: an `online` event means the network changed under it. */
  #stopWatchingNetwork?: () => void;

  readonly #WebSocket: WebSocketConstructor;
  readonly #timers: Timers;
  readonly #online: OnlineStatus;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #events: SocketEvents;

  constructor(WebSocket: WebSocketConstructor, timers: Timers, online: OnlineStatus, random: () => number, now: () => number, events: SocketEvents) {
    this.#WebSocket = WebSocket;
    this.#timers = timers;
    this.#online = online;
    this.#random = random;
    this.#now = now;
    this.#events = events;
  }

  /** A socket exists (opening or open); false while idle, waiting or offline. */
  get active(): boolean {
    return this.#ws !== undefined;
  }

  /** Opens the socket now, or as soon as the device is back online. */
  open(): void {
    this.#stopWaiting();
    if (!this.#online.isOnline()) {
      this.#stopWatchingOnline = this.#online.onOnline(() => this.open());
      return this.#events.status({ transport: "offline" });
    }
    let ws: WebSocketLike;
    try {
      ws = new this.#WebSocket(this.#events.url());
    } catch {
      return this.#reopen();
    }
    this.#ws = ws;
    this.#events.status({ transport: "opening", nextOpenAt: undefined });
    const current = <E>(handle: (event: E) => void) => (event: E) => void (ws === this.#ws && handle(event));
    ws.addEventListener("open", current(() => this.#events.status({ transport: "open" })));
    ws.addEventListener("message", current((e: { data: unknown }) => this.#onMessage(e.data)));
    ws.addEventListener("close", current((e: { code: number }) => this.#onClose(e.code)));
    this.#watch(ws);
  }

  /** Sends on the open socket; a frame for a closed one is dropped (the server asks again). */
  send(data: string): void {
    if (this.#ws?.readyState === OPEN) this.#ws.send(data);
  }

  /** The server answered on this socket: the next drop starts the backoff over. */
  settled(): void {
    this.#attempt = 0;
  }

  /** This socket cannot serve now (its proof was refused or could not be checked): a new one after the backoff. */
  retryLater(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close(1000);
    this.#unwatch();
    this.#reopen();
  }

  /** No socket wanted: closes it and cancels every wait. */
  close(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close(1000);
    this.#unwatch();
    this.#stopWaiting();
  }

  /**
   * A socket can die without a close (sleep, a network change): a keep-alive ping finds it, and
   * an `online` event replaces it at once. The session answers pings without waking up.
   */
  #watch(ws: WebSocketLike): void {
    this.#unwatch();
    this.#stopWatchingNetwork = this.#online.onOnline(() => ws === this.#ws && this.#replace(ws));
    const beat = () => {
      if (ws !== this.#ws) return;
      if (this.#awaitingPong) return this.#replace(ws);
      this.#awaitingPong = true;
      if (ws.readyState === OPEN) ws.send("ping");
      this.#heartbeat = this.#timers.setTimeout(beat, PING_EVERY_MS);
    };
    this.#heartbeat = this.#timers.setTimeout(beat, PING_EVERY_MS);
  }

  #unwatch(): void {
    this.#timers.clearTimeout(this.#heartbeat);
    this.#stopWatchingNetwork?.();
    this.#heartbeat = this.#stopWatchingNetwork = undefined;
    this.#awaitingPong = false;
  }

  #replace(ws: WebSocketLike): void {
    this.#ws = undefined;
    this.#unwatch();
    ws.close(1000);
    this.#attempt = 0;
    this.open();
  }

  #onMessage(data: unknown): void {
    if (data === "pong") this.#awaitingPong = false;
    else this.#events.message(data);
  }

  #onClose(code: number): void {
    this.#ws = undefined;
    this.#unwatch();
    // The server refused this socket for good; its error frame, when it sent one, was handled first.
    if (code >= 4000 && code < 5000) return this.#events.refused(code);
    this.#reopen();
  }

  #reopen(): void {
    if (!this.#online.isOnline()) return this.open();
    const delay = reopenDelay(this.#attempt++, this.#random);
    this.#reopenTimer = this.#timers.setTimeout(() => this.open(), delay);
    this.#events.status({ transport: "waiting", nextOpenAt: this.#now() + delay });
  }

  #stopWaiting(): void {
    this.#timers.clearTimeout(this.#reopenTimer);
    this.#stopWatchingOnline?.();
    this.#reopenTimer = this.#stopWatchingOnline = undefined;
  }
}
