/**
 * KaleyraVideo: the SDK's facade over one socket to the user's session object (docs/client.md):
 * configuration, connect, disconnect, reset, saved data, token answers. The socket itself (opening,
 * keep-alive, reopen, backoff) is transport.ts.
 * Invariants:
 * - The session lives on the server. The client sends only what the user asked for (connect or
 *   disconnect, the "intent") and renders the state frames it is sent.
 * - The intent is sent after a socket's attach state, not on open: a session that ended while the
 *   client was away (user inactive, another tab's disconnect) must not be started again by a
 *   reopen, and only the attach state tells. Every later state on that socket answers the intent.
 * - One provider call per token request id; a repeated request gets the same answer again.
 * - A 4xxx close or an error frame before the attach state is a refusal: no reopen.
 */
import { isAppId, isEnvironment, isRegion } from "../core/app";
import { accessLinkDigest } from "../core/access-link";
import { isAccessLink, isUserId, type ClientFrame, type ServerFrame } from "../core/protocol";
import type { SessionView } from "../core/session";
import { deferred, type Deferred } from "./deferred";
import { KaleyraError, type KaleyraErrorCode } from "./errors";
import { ObservableValue, type Observable } from "./observable";
import { host, hostOnlineStatus, hostStorage, hostTimers, type StorageLike, type Timers } from "./platform";
import { CONFIGURATION_KEY, readSaved, SESSION_KEY, writeSaved, type SavedSession } from "./saved-data";
import { reconnectingSocket, type ReconnectingSocket } from "./transport";
import type { ClientState, Configuration, ConnectedUser, KaleyraVideoOptions, TokenProvider } from "./types";

export { PING_EVERY_MS, reopenDelay, type Transport } from "./transport";
export * from "./types";

/** disconnect() waits this long for the server to take the disconnect. */
export const DISCONNECT_WAIT_MS = 20_000;

const IDLE: ClientState = { status: "disconnected", tokenAttempt: 0, reconnectAttempt: 0, refreshing: false, transport: "idle" };

/** A token session (no provider when only ending a saved one), or a link session: its socket is named by the link's digest. */
type Target = { userId: string; provider?: TokenProvider; accessLink?: undefined } | { accessLink: string; digest?: string; userId?: undefined; provider?: undefined };

const refuse = (code: KaleyraErrorCode, field?: string) => Promise.reject(new KaleyraError(code, undefined, field));

/** The protocol's token rule (1..8,192 characters, no whitespace), checked before sending. */
const isToken = (v: unknown): v is string => typeof v === "string" && /^\S{1,8192}$/.test(v);

/** The error a session's final `disconnected` state stands for: its reason when specific, else its error. */
const endError = (s: SessionView): KaleyraErrorCode => (s.reason && s.reason !== "requested" ? s.reason : s.error ?? "disconnected");

export class KaleyraVideo {
  readonly #view = new ObservableValue<ClientState>(IDLE);
  readonly #server: string;
  readonly #socket: ReconnectingSocket;
  readonly #storage: StorageLike | undefined;
  readonly #timers: Timers;
  readonly #now: () => number;
  #config?: Configuration;
  #target?: Target;
  #intent?: "connect" | "disconnect";
  #clearSavedData = false;
  /** The socket's attach state arrived: later frames answer what this client sent. */
  #attached = false;
  /** The server showed this session running since connect(): an ended attach state means it ended. */
  #sawActive = false;
  #connecting?: Deferred<ConnectedUser>;
  #disconnecting?: Deferred<void>;
  #disconnectTimer?: unknown;
  /** Token answers by request id; null while the provider works. */
  readonly #tokens = new Map<string, ClientFrame | null>();
  #user?: ConnectedUser;
  /** The proof this socket is giving the server, until its first state arrives. */
  #proving?: "resume" | "token";
  #authModes: readonly string[] = [];
  readonly #options: KaleyraVideoOptions;
  /** The relay attached (client/relay.ts, kept out of this entry): its `since` goes with a resume proof. */
  relay?: { since?: number };
  /**
   * Every server frame, as text, after this client handled it: how the other entries (relay, push)
   * hear the session. Add a listener; delete it to stop.
   */
  readonly frames = new Set<(data: unknown) => void>();

  constructor(options: KaleyraVideoOptions) {
    this.#options = options;
    const server = options.server.replace(/\/+$/, "");
    if (!/^(http|ws)s?:\/\/./.test(server)) throw new TypeError("server must be an http(s) or ws(s) URL");
    this.#server = server.replace(/^http/, "ws");
    const WebSocket = options.WebSocket ?? host.WebSocket;
    // Node 20 and some embedded runtimes have none: say so here, not as a TypeError in the bundle.
    if (!WebSocket) throw new KaleyraError("websocket_unavailable");
    this.#storage = options.storage === undefined ? hostStorage() : options.storage ?? undefined;
    this.#timers = options.timers ?? hostTimers;
    this.#now = options.now ?? Date.now;
    this.#socket = reconnectingSocket(
      WebSocket, this.#timers, options.online ?? hostOnlineStatus, options.random ?? Math.random, this.#now,
      () => this.#url(),
      (change) => {
        // A new socket: frames on it answer nothing sent on an older one, until its attach state.
        if (change.transport === "opening") this.#attached = false;
        this.#patch(change);
      },
      (data) => {
        this.#onMessage(data);
        for (const f of this.frames) f(data);
      },
      // Refused for good (a 4xxx close); its error frame, when it sent one, already stopped the client.
      (code) => this.#stop(code === 4404 ? "app_id_invalid" : code === 4400 ? "bad_request" : "connection_refused"),
    );
    this.configure(readSaved(this.#storage, CONFIGURATION_KEY) as Configuration);
  }

  get state(): Observable<ClientState> {
    return this.#view;
  }

  /** The configuration in use (also after a reload), or undefined. */
  get configuration(): Configuration | undefined {
    return this.#config && { ...this.#config };
  }

  get isConfigured(): boolean {
    return this.#config !== undefined;
  }

  get connectedUser(): ConnectedUser | undefined {
    return this.#user;
  }

  /** Returns false and changes nothing on invalid input, or when a live session uses another configuration. */
  configure(configuration: Configuration): boolean {
    const { appId, environment, region } = Object(configuration) as Partial<Configuration>;
    if (!isAppId(appId) || !isEnvironment(environment) || !isRegion(region)) return false;
    const config = { appId, environment, region };
    // The socket's URL carries the configuration: it cannot change under a live session.
    if (this.#target && JSON.stringify(config) !== JSON.stringify(this.#config)) return false;
    writeSaved(this.#storage, CONFIGURATION_KEY, (this.#config = config));
    return true;
  }

  /** Resolves once the session is connected; stays pending while the server retries. */
  connect(userId: string, provider: TokenProvider): Promise<ConnectedUser>;
  connect(accessLink: string): Promise<ConnectedUser>;
  connect(id: string, provider?: TokenProvider): Promise<ConnectedUser> {
    if (!this.#config) return refuse("not_configured");
    const byLink = provider === undefined;
    if (byLink ? !isAccessLink(id) : !isUserId(id) || typeof provider !== "function") {
      return refuse("bad_request", byLink ? "accessLink" : isUserId(id) ? "provider" : "userId");
    }
    const t = this.#target;
    if (t) {
      // One session at a time: the same one again joins it, anything else must wait for disconnect.
      if (this.#intent !== "connect" || (byLink ? t.accessLink : t.userId) !== id) return refuse("session_conflict");
      if (provider) t.provider = provider;
      return this.#user ? Promise.resolve(this.#user) : (this.#connecting ??= deferred()).promise;
    }
    this.#target = byLink ? { accessLink: id } : { userId: id, provider };
    this.#intent = "connect";
    this.#sawActive = false;
    this.#connecting = deferred();
    // A saved session of this user keeps its resume credential.
    if (!byLink) this.#saveSession(this.#ownSaved() ?? { appId: this.#config.appId, userId: id });
    this.#view.set({ ...IDLE, status: "connecting", transport: "opening", ...(byLink ? { mode: "access_link" } : { mode: "token", userId: id }) });
    const target = this.#target as { accessLink: string; digest?: string };
    if (byLink) {
      void accessLinkDigest(id).then((digest) => {
        if (this.#target !== target) return;
        target.digest = digest;
        this.#socket.open();
      });
    } else this.#socket.open();
    return this.#connecting.promise;
  }

  /**
   * Ends the session (also one this page connected before a reload). Resolves once the server has
   * taken the disconnect; rejects with disconnect_unconfirmed when it cannot be reached in time.
   */
  disconnect(options: { clearSavedData?: boolean } = {}): Promise<void> {
    const clear = options.clearSavedData === true;
    const saved = this.#savedSession();
    if (clear) this.#saveSession();
    this.#connecting?.reject(new KaleyraError("disconnected"));
    this.#connecting = undefined;
    if (this.#disconnecting) {
      // A second call may add the clear; the attach state sends it when the socket is not there yet.
      if (clear && !this.#clearSavedData && this.#attached) this.#send({ type: "disconnect", clearSavedData: true });
      this.#clearSavedData ||= clear;
      return this.#disconnecting.promise;
    }
    const target = this.#target ?? (saved && { userId: saved.userId });
    // A socket still proving its user ends nothing but its own proof: closing it does that.
    if (!target || !this.#config || this.#proving === "token") {
      this.#stop();
      return Promise.resolve();
    }
    this.#target = target;
    this.#intent = "disconnect";
    this.#clearSavedData = clear;
    this.#disconnecting = deferred();
    this.#disconnectTimer = this.#timers.setTimeout(() => this.#stop("disconnect_unconfirmed", undefined, false), DISCONNECT_WAIT_MS);
    this.#patch({ status: "disconnecting" });
    if (!this.#socket.active) this.#socket.open();
    else if (this.#attached) this.#send({ type: "disconnect", clearSavedData: clear });
    return this.#disconnecting.promise;
  }

  /** disconnect(), then drop the configuration. */
  async reset(): Promise<void> {
    try {
      await this.disconnect();
    } finally {
      this.#config = undefined;
      writeSaved(this.#storage, CONFIGURATION_KEY);
    }
  }

  /** For a page that starts (or reloads): the SDK's KaleyraVideoInitializer. */
  async start(): Promise<void> {
    if (!this.#config) {
      const configuration = this.#options.onRequestConfigure?.();
      if (!configuration || !this.configure(configuration)) return;
    }
    const saved = this.#savedSession();
    if (saved && !this.#target) await this.#options.onRequestConnect?.(saved);
  }

  #savedSession(): SavedSession | undefined {
    const s = readSaved(this.#storage, SESSION_KEY) as Partial<SavedSession> | undefined;
    if (!this.#config || s?.appId !== this.#config.appId || !isUserId(s.userId)) return undefined;
    const { credential, expiresAt } = Object(s.resume) as Partial<NonNullable<SavedSession["resume"]>>;
    return { appId: s.appId, userId: s.userId, ...(typeof credential === "string" && typeof expiresAt === "number" && { resume: { credential, expiresAt } }) };
  }

  /** The saved session when it is the target's. */
  #ownSaved(): SavedSession | undefined {
    const s = this.#savedSession();
    return s && s.userId === this.#target?.userId ? s : undefined;
  }

  /** Saves the token session for a reload, or forgets it. */
  #saveSession(session?: SavedSession): void {
    writeSaved(this.#storage, SESSION_KEY, session);
  }

  /** The server asks who this socket is: the link, the saved resume credential, else a token. */
  #prove(modes: readonly string[]): void {
    this.#authModes = modes;
    const link = this.#target?.accessLink;
    // On a link socket the connect frame carries the link: it proves the socket and connects.
    if (link !== undefined) return this.#send({ type: "connect", accessLink: link });
    const resume = this.#ownSaved()?.resume;
    if (resume && resume.expiresAt > this.#now() && modes.includes("resume")) {
      this.#proving = "resume";
      // The relay's last seq (RELAY.md's `since`), when one is attached; undefined is not sent.
      return this.#send({ type: "auth", resume: resume.credential, since: this.relay?.since } as ClientFrame);
    }
    this.#proveWithToken();
  }

  #proveWithToken(): void {
    // A disconnect never proves with a token: with no session running, that token would start one.
    if (this.#intent === "disconnect") return this.#proofFailed();
    if (!this.#target?.provider || !this.#authModes.includes("token")) return this.#stop("auth_required");
    // The server asks for the token (token_request), so with no session running it times the
    // provider like any attempt of the connect; its proof's progress comes as proof states.
    this.#proving = "token";
    this.#send({ type: "auth", askToken: true });
  }

  /**
   * Nothing proved the user and nothing runs that this client started (a joining token refused, or
   * not checked now): a connect tries again on a new socket after the backoff; a disconnect has
   * nothing it may end (an unproven socket can end no session) and resolves.
   */
  #proofFailed(error?: KaleyraError): void {
    if (this.#intent === "disconnect") return this.#stop();
    if (error) this.#options.onError?.(error);
    this.#socket.retry();
  }

  /** The provider's token, or undefined when it failed or gave none. */
  #ask(userId: string, expiresAt?: number): Promise<string | undefined> {
    const provider = this.#target!.provider!;
    return Promise.resolve()
      .then(() => provider({ userId, ...(expiresAt !== undefined && { expiresAt }) }))
      .then((token) => (isToken(token) ? token : undefined), () => undefined);
  }

  #url(): string {
    // appId passed isAppId (letters, digits, _ and -): it needs no escaping in a path.
    const { appId, environment, region } = this.#config!;
    const t = this.#target!;
    const query = new URLSearchParams({ environment, region, ...(t.accessLink === undefined ? { userId: t.userId } : { link: t.digest! }) });
    return `${this.#server}/v1/apps/${appId}/socket?${query}`;
  }

  #onMessage(data: unknown): void {
    let frame: ServerFrame | null;
    try {
      frame = JSON.parse(data as string) as ServerFrame | null;
    } catch {
      return;
    }
    switch (frame?.type) {
      case "auth_required":
        return this.#prove(Array.isArray(frame.modes) ? frame.modes : []);
      case "resume": {
        // The session's credential for a reload (or another tab) of this connected user.
        const saved = this.#ownSaved();
        if (this.#intent === "connect" && saved) this.#saveSession({ ...saved, resume: frame });
        return;
      }
      case "state":
        // A proof's own state: the schedule runs on the server; a final one ends the connect.
        if (frame.proof) return frame.state?.status === "disconnected" ? this.#stop(endError(frame.state), frame.state) : this.#view.set({ ...frame.state, transport: "open" });
        if (frame.state) this.#onState(frame.state);
        return;
      case "token_request":
        return this.#answerToken(frame);
      case "error": {
        const error = new KaleyraError(frame.code, frame.message, frame.field);
        // A refused resume credential (expired, or its session was cleared): prove with a token.
        if (frame.code === "auth_failed" && this.#proving === "resume") {
          const saved = this.#savedSession();
          if (saved) this.#saveSession({ ...saved, resume: undefined });
          return this.#proveWithToken();
        }
        if (this.#proving === "token" && frame.code === "auth_pending") return;
        if (this.#proving === "token" && (frame.code === "auth_failed" || frame.code === "unavailable")) return this.#proofFailed(error);
        // An error before the attach state is the server refusing this socket; it closes next.
        if (!this.#attached || (this.#connecting && frame.requestId === undefined)) return this.#stop(error);
        return this.#options.onError?.(error);
      }
      case "data_cleared":
        this.#saveSession();
        if (this.#intent === "disconnect") this.#stop();
    }
  }

  #onState(s: SessionView): void {
    const attach = !this.#attached;
    this.#proving = undefined;
    this.#attached = true;
    this.#socket.settled();
    const ended = s.status === "disconnected";
    if (this.#intent === "disconnect") {
      const over = ended || s.status === "disconnecting";
      if (attach && (!over || this.#clearSavedData)) this.#send({ type: "disconnect", clearSavedData: this.#clearSavedData });
      else if (over) return this.#stop();
    } else {
      // Every state after the attach answers the connect (a refused link or an inactive user ends
      // it at once); an ended attach state means the session this client saw running ended while
      // the socket was away.
      if (ended && (!attach || this.#sawActive)) return this.#stop(endError(s), s);
      if (attach) {
        // A link socket's proof was its connect; a token socket connects (or joins) now.
        const userId = this.#target!.userId;
        if (userId !== undefined) this.#send({ type: "connect", userId });
        // The state from before this connect: keep showing "connecting".
        if (ended) return;
      }
      this.#sawActive = true;
      if (s.status === "connected") {
        this.#user = { userId: s.userId ?? this.#target!.userId ?? "" };
        this.#connecting?.resolve(this.#user);
        this.#connecting = undefined;
        if (!s.refreshing) for (const [id, answer] of this.#tokens) if (answer) this.#tokens.delete(id);
      }
    }
    this.#view.set({ ...s, transport: "open" });
  }

  #answerToken({ requestId, userId, expiresAt }: Extract<ServerFrame, { type: "token_request" }>): void {
    if (this.#intent !== "connect" || !this.#target?.provider) return;
    const known = this.#tokens.get(requestId);
    // One provider call per request: a repeat (after a reopen, say) gets the same answer again.
    if (known) return this.#send(known);
    if (known === null) return;
    this.#tokens.set(requestId, null);
    void this.#ask(userId, expiresAt).then((token) => {
      // The session ended meanwhile: the map was cleared, the answer is nobody's.
      if (this.#tokens.get(requestId) !== null) return;
      const answer: ClientFrame = token ? { type: "token", requestId, token } : { type: "token_failed", requestId };
      this.#tokens.set(requestId, answer);
      this.#send(answer);
    });
  }

  /** Sends a frame on the open socket, dropped when there is none: client/relay.ts's way up. */
  send(frame: object): void {
    this.#send(frame as ClientFrame);
  }

  /** Sends on the open socket; a frame for a closed one is dropped (the server asks again on reattach). */
  #send(frame: ClientFrame): void {
    this.#socket.send(JSON.stringify(frame));
  }

  /** Changes some fields of the state; tells the listeners only when one really changed. */
  #patch(change: Partial<ClientState>): void {
    const value = this.#view.value;
    let key: keyof ClientState;
    for (key in change) if (change[key] !== value[key]) return this.#view.set({ ...value, ...change });
  }

  /**
   * No session wanted: closes the socket, cancels every wait, forgets the session (unless told). Without a failure the
   * server took the disconnect (it finishes the session by itself); with one, rejects what waits and shows why.
   */
  #stop(failure?: KaleyraError | KaleyraErrorCode, s?: SessionView, forgetSession = true): void {
    const connecting = this.#connecting;
    const disconnecting = this.#disconnecting;
    const error = typeof failure === "string" ? new KaleyraError(failure) : failure;
    this.#target = this.#intent = this.#user = this.#connecting = this.#disconnecting = undefined;
    this.#socket.close();
    this.#timers.clearTimeout(this.#disconnectTimer);
    this.#tokens.clear();
    if (forgetSession) this.#saveSession();
    this.#view.set({ ...IDLE, ...(error ? { ...s, failure: error } : { reason: "requested" }), transport: "idle" });
    if (!error) return disconnecting?.resolve();
    connecting?.reject(error);
    disconnecting?.reject(error);
  }
}
