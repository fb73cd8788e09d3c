/**
 * What the client needs from its host (a browser, an Android WebView, a test), as narrow
 * interfaces with defaults read from globals. Declared here rather than taken from lib.dom, so
 * the client typechecks under the Workers types too, and tests inject fakes for every one.
 */

/** The part of the WebSocket API the client uses; the browser's WebSocket satisfies it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // `any`, so the browser's WebSocket (whose listeners take its own event types) fits.
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The part of the Web Storage API the client uses; localStorage satisfies it. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Whether the device is online, and a way to hear when it comes back. */
export interface OnlineStatus {
  isOnline(): boolean;
  /** Returns a function that stops listening. */
  onOnline(listener: () => void): () => void;
}

interface Host {
  WebSocket?: WebSocketConstructor;
  localStorage?: StorageLike;
  navigator?: { onLine?: boolean };
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The globals: read when a client is made, so a WebSocket installed later is found. */
export const host = globalThis as unknown as Host;

/** The global timers, called as methods of the global object (as a browser requires). */
export const hostTimers: Timers = host;

/** navigator.onLine and the window's `online` event, where they exist; else always online. */
export const hostOnlineStatus: OnlineStatus = {
  isOnline: () => host.navigator?.onLine !== false,
  onOnline(listener) {
    host.addEventListener?.("online", listener);
    return () => host.removeEventListener?.("online", listener);
  },
};

/** localStorage when the page may use it (reading it throws in some sandboxed frames). */
export function hostStorage(): StorageLike | undefined {
  try {
    return host.localStorage;
  } catch {
    return undefined;
  }
}
