/**
 * Fakes for the client's host seams (client/platform.ts): sockets the test plays the server for,
 * timers that run only when told, an in-memory storage and a switchable network. Deterministic,
 * no real waiting, so they behave the same in workerd as anywhere.
 */
import type { ClientFrame, ServerFrame } from "../core/protocol";
import type { SessionView } from "../core/session";
import { KaleyraVideo, type KaleyraVideoOptions } from "./kaleyra-video";
import type { OnlineStatus, StorageLike, Timers, WebSocketConstructor, WebSocketLike } from "./platform";

type Listener = (event: object) => void;

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  /** Every frame the client sent, parsed. */
  readonly sent: ClientFrame[] = [];
  /** How many keep-alive pings the client sent. */
  pings = 0;
  /** The code the client closed with, if it did. */
  closedByClient?: number;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    if (data === "ping") this.pings += 1;
    else this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(code?: number): void {
    this.closedByClient = code;
    this.readyState = 3;
  }

  /** The server accepted the upgrade. */
  accept(): this {
    this.readyState = 1;
    this.emit("open", {});
    return this;
  }

  receive(frame: ServerFrame | Record<string, unknown>): void {
    this.emit("message", { data: JSON.stringify(frame) });
  }

  receiveRaw(data: unknown): void {
    this.emit("message", { data });
  }

  state(state: Partial<SessionView> & Pick<SessionView, "status">): void {
    this.receive({ type: "state", state: { tokenAttempt: 0, reconnectAttempt: 0, refreshing: false, ...state } });
  }

  /** The server (or the network) closed the socket. */
  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.emit("close", { code, reason, wasClean: code !== 1006 });
  }

  sentOfType<T extends ClientFrame["type"]>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }

  private emit(type: string, event: object): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

/** A WebSocket constructor whose sockets the test drives; `sockets` lists them in order. */
export function fakeSockets(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class WebSocket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return {
    WebSocket,
    sockets,
    last() {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error("no socket was opened");
      return s;
    },
  };
}

export class FakeTimers implements Timers {
  now = 1_000_000;
  private nextId = 1;
  private readonly due = new Map<number, { at: number; callback: () => void }>();

  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.due.set(id, { at: this.now + ms, callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.due.delete(handle as number);
  };

  /** Delays (from now) of the timers still waiting, soonest first. */
  pending(): number[] {
    return [...this.due.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  /** Moves time forward, running each timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.now = next[1].at;
      next[1].callback();
    }
    this.now = end;
  }
}

export class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  json(key: string): unknown {
    const raw = this.items.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }
}

export class FakeNetwork implements OnlineStatus {
  online = true;
  private readonly listeners = new Set<() => void>();

  isOnline(): boolean {
    return this.online;
  }

  onOnline(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listening(): number {
    return this.listeners.size;
  }

  goOffline(): void {
    this.online = false;
  }

  goOnline(): void {
    this.online = true;
    for (const listener of [...this.listeners]) listener();
  }
}

/** Lets every pending promise callback run (the client's provider chain takes a few turns). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The socket of a link connect, once the client has hashed the link (the link names its session by
 * digest and opens after it), accepted; the server asks for the proof, and the client's connect
 * frame (the link) answers it.
 */
export async function linkSocket(server: ReturnType<typeof fakeSockets>): Promise<FakeSocket> {
  const before = server.sockets.length;
  for (let i = 0; i < 50 && server.sockets.length === before; i++) await settle();
  const ws = server.last().accept();
  ws.receive({ type: "auth_required", modes: ["access_link"] });
  return ws;
}

export const APP = { appId: "mAppId_demo", environment: "sandbox", region: "eu" } as const;
export const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/abc123";

/** A client on fakes, configured for APP unless `configured` is false. */
export function fakeClient(options: Partial<KaleyraVideoOptions> & { configured?: boolean } = {}) {
  const server = fakeSockets();
  const timers = new FakeTimers();
  const storage = new MemoryStorage();
  const network = new FakeNetwork();
  const { configured = true, ...rest } = options;
  const make = (more: Partial<KaleyraVideoOptions> = {}) =>
    new KaleyraVideo({
      server: "http://localhost:8787",
      WebSocket: server.WebSocket,
      storage,
      timers,
      online: network,
      random: () => 0.5,
      now: () => timers.now,
      ...rest,
      ...more,
    });
  const kaleyra = make();
  if (configured) kaleyra.configure(APP);
  /** A second client on the same storage and fakes: the page after a reload. */
  const reload = (more: Partial<KaleyraVideoOptions> = {}) => make(more);
  return { kaleyra, server, timers, storage, network, reload };
}

/** What the session sends a socket that must prove itself with a token or a resume credential. */
export const PROOF = { type: "auth_required", modes: ["token", "resume"] } as const;
/** A resume credential as the session hands it out after a proof. */
export const RESUME = { type: "resume", credential: "cred-1", expiresAt: 9_000_000_000 } as const;

/**
 * Plays the session through a token connect of `userId` on a fakeClient: accepts the socket, asks
 * for proof, answers connected and a resume credential. Answers the socket.
 */
export async function connectWithToken(client: ReturnType<typeof fakeClient>, userId = "alice"): Promise<FakeSocket> {
  void client.kaleyra.connect(userId, async () => "tok");
  const ws = client.server.last().accept();
  ws.receive(PROOF);
  await settle();
  ws.state({ status: "connected", mode: "token", userId });
  ws.receive(RESUME);
  return ws;
}
