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

/** What the socket reports; "opening" means a new socket: frames on it answer nothing sent on an older one. */
export type SocketStatus = { transport: Transport; nextOpenAt?: number };

const OPEN = 1;
/** Socket reopen backoff: full jitter over 0.5 s doubling up to 30 s. */
const REOPEN_BASE_MS = 500;
const REOPEN_CAP_MS = 30_000;
/** Keep-alive: a "ping" every period; no "pong" by the next one means the socket is dead. */
export const PING_EVERY_MS = 25_000;

export function reopenDelay(attempt: number, random: () => number): number {
  return random() * Math.min(REOPEN_CAP_MS, REOPEN_BASE_MS * 2 ** attempt);
}

/** The socket as the facade drives it. */
export interface ReconnectingSocket {
  /** A socket exists (opening or open); false while idle, waiting or offline. */
  readonly active: boolean;
  /** Opens the socket now, or as soon as the device is back online. */
  open(): void;
  /** Sends on the open socket; a frame for a closed one is dropped (the server asks again). */
  send(data: string): void;
  /** The server answered on this socket: the next drop starts the backoff over. */
  settled(): void;
  /** This socket cannot serve now (its proof was refused or could not be checked): a new one after the backoff. */
  retry(): void;
  /** No socket wanted: closes it and cancels every wait. */
  close(): void;
}

/**
 * A closure rather than a class, and the facade's callbacks as plain parameters: its state is
 * local variables and no callback name survives minification, which keeps the bundle small.
 * @param url where the next socket opens (asked at every open)
 * @param status the socket's status changes
 * @param message a frame other than the keep-alive's "pong"
 * @param refused the server closed the socket with this 4xxx code; it is not reopened
 */
export function reconnectingSocket(
  WebSocket: WebSocketConstructor,
  timers: Timers,
  online: OnlineStatus,
  random: () => number,
  now: () => number,
  url: () => string,
  status: (change: SocketStatus) => void,
  message: (data: unknown) => void,
  refused: (code: number) => void,
): ReconnectingSocket {
  let ws: WebSocketLike | undefined;
  let attempt = 0;
  let awaitingPong = false;
  /**
   * The one wait of the moment (the states exclude each other): with a socket, the keep-alive's
   * timer and the network-change listener; without one, the reopen timer or the wait for the network.
   */
  let timer: unknown;
  let stopListening: (() => void) | undefined;

  const open = (): void => {
    stopWaiting();
    if (!online.isOnline()) {
      stopListening = online.onOnline(open);
      return status({ transport: "offline" });
    }
    let socket: WebSocketLike;
    try {
      socket = new WebSocket(url());
    } catch {
      return reopen();
    }
    ws = socket;
    status({ transport: "opening", nextOpenAt: undefined });
    // Every handler first checks that its socket is still the current one.
    socket.addEventListener("open", () => socket === ws && status({ transport: "open" }));
    socket.addEventListener("message", (e: { data: unknown }) => socket === ws && (e.data === "pong" ? (awaitingPong = false) : message(e.data)));
    socket.addEventListener("close", (e: { code: number }) => {
      if (socket !== ws) return;
      drop();
      // The server refused this socket for good; its error frame, when it sent one, was handled first.
      if (e.code >= 4000 && e.code < 5000) return refused(e.code);
      reopen();
    });
    // A socket can die without a close (sleep, a network change): a keep-alive ping finds it, and
    // an `online` event replaces it at once. The session answers pings without waking up. Both
    // waits end (stopWaiting) whenever this socket stops being the current one.
    stopListening = online.onOnline(replace);
    const beat = (): void => {
      if (awaitingPong) return replace();
      awaitingPong = true;
      if (socket.readyState === OPEN) socket.send("ping");
      timer = timers.setTimeout(beat, PING_EVERY_MS);
    };
    timer = timers.setTimeout(beat, PING_EVERY_MS);
  };

  /** Forgets the socket (it never reaches a handler again) and cancels its waits; closes it when given a code. */
  const drop = (code?: number): void => {
    const old = ws;
    ws = undefined;
    if (code) old?.close(code);
    stopWaiting();
  };

  const stopWaiting = (): void => {
    timers.clearTimeout(timer);
    stopListening?.();
    timer = stopListening = undefined;
    awaitingPong = false;
  };

  const replace = (): void => {
    drop(1000);
    attempt = 0;
    open();
  };

  const reopen = (): void => {
    if (!online.isOnline()) return open();
    const delay = reopenDelay(attempt++, random);
    timer = timers.setTimeout(open, delay);
    status({ transport: "waiting", nextOpenAt: now() + delay });
  };

  return {
    get active() {
      return ws !== undefined;
    },
    open,
    send(data) {
      if (ws?.readyState === OPEN) ws.send(data);
    },
    settled() {
      attempt = 0;
    },
    retry() {
      drop(1000);
      reopen();
    },
    close: () => drop(1000),
  };
}
