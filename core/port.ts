/**
 * The port to Kaleyra's realtime service: the user's one live connection. `openSession` opens it
 * and settles once Kaleyra said connected (or refused); the connection then lives in the adapter,
 * which tells the session what Kaleyra says on it through the listener (`listen`), replaces its
 * token in place (`updateToken`), and answers whether it is still alive (`isAlive`: an adapter
 * made after an eviction or restart holds no connection, so every earlier one is dead). For the
 * relay, it reports every other server event (`event` notices) and emits a client's event with an
 * ack (`emit`).
 * Adapters answer with data, never throw for a remote refusal; a thrown error or a rejected
 * promise is treated by the session as "unavailable".
 */
import type { Environment, Region } from "./app";
import type { KaleyraSessionEvent } from "./kaleyra-events";
import type { Credential, RemoteError } from "./session";

export interface OpenSessionRequest {
  appId: string;
  environment: Environment;
  region: Region;
  credential: Credential;
  /** The session's clock, so adapters judge expiry on the same time line as the schedule. */
  now: number;
  /** The app's realtime base URL, when it overrides the derived one (AppSettings.kaleyra). */
  realtimeUrl?: string;
  /** A reconnect: Kaleyra's id of the connection it replaces, sent as `socket-id` in CONNECT. */
  previousSocketId?: string;
  /** The app's own connector pool (AppSettings.upstream.pool "own"); adapters without connectors ignore it. */
  ownPool?: boolean;
  /** A token proof's throwaway connection (closed at once): it never replaces the session's own. */
  check?: boolean;
}

export type OpenSessionResult =
  | {
      ok: true;
      userId: string;
      expiresAt?: number;
      /** The remote session's id, to close exactly that session later. */
      sessionId?: string;
      /** Kaleyra's id of the connection (the Socket.IO socket id), for a later reconnect's `socket-id`. */
      socketId?: string;
      /** For access links: the room (call) the link belongs to, for the room-ended webhook. */
      roomId?: string;
    }
  | { ok: false; error: RemoteError };

export type UpdateTokenResult = { ok: true; expiresAt?: number } | { ok: false; error: "token_invalid" | "unavailable" };

/**
 * What Kaleyra says on a live connection, other than answers to our own calls. The session events
 * among them go to core's transition as they are; the other two are the session object's own.
 */
export type RemoteNotice =
  /** The connection ended: dropped, no ping in time, or closed by Kaleyra (`byServer`). */
  | { type: "remote_lost"; byServer: boolean }
  /** A Kaleyra event the session reacts to (core/kaleyra-events.ts; `user_deactivated` already acknowledged). */
  | KaleyraSessionEvent
  /** `switchboard:client:deprecated`: a warning to every client. */
  | { type: "client_deprecated"; deprecationDate?: string; endOfSupportDate?: string }
  /**
   * Any other server event, for the relay: `data` is its first argument (null when none). If
   * Kaleyra asked for an ack, the adapter already answered it (with no arguments).
   */
  | { type: "remote_event"; name: string; data: unknown };

/** Kaleyra's answer to an emit: its ack data, a refusal (`{ error }`), none in 10 s, or no connection. */
export type RemoteEmitResult = { ok: true; data: unknown } | { ok: false; error: "remote_timeout" | "remote_refused" | "not_connected" };

export type RemoteListener = (sessionId: string, notice: RemoteNotice) => void;

/**
 * How long a realtime connection may take from the upgrade to Kaleyra's `switchboard:connected`:
 * past it the open is "unavailable" (the adapter's handshake deadline; a connector's bound on an open).
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * What Kaleyra said on one connection, as the object holding it (a connector, docs/architecture.md
 * "Sessions and connectors") reports it to the session by RPC, tagged with the connection's id.
 */
export interface ConnectorReport {
  connectionId: string;
  notice: RemoteNotice;
}

/** The session's answer to a batch of reports. */
export interface ReportsAnswer {
  /** Connections the session does not use (stale, or never taken): the connector closes them. */
  disowned: string[];
}

export interface KaleyraRemote {
  openSession(request: OpenSessionRequest): Promise<OpenSessionResult>;
  closeSession(request: CloseSessionRequest): Promise<void>;
  /** Replaces the token on the live connection (`switchboard:access_token:update`, acked). */
  updateToken(sessionId: string, token: string): Promise<UpdateTokenResult>;
  /** Emits `name` with `data` on the live connection with an ack (the relay's `remote_emit`). */
  emit(sessionId: string, name: string, data: unknown): Promise<RemoteEmitResult>;
  /**
   * False when the connection is gone; checks its heartbeat first (no ping in time is lost). A
   * session's connector answers by RPC, hence the promise.
   */
  isAlive(sessionId: string): boolean | Promise<boolean>;
  /**
   * Optional: the session took `openSession`'s answer for this connection (it is now its current
   * one, or was closed). An adapter that held reports about it until then delivers them now.
   */
  settled?(sessionId: string): void;
  /**
   * Optional, for an adapter whose connections another object holds (a connector): the reports it
   * sent the session object by RPC. The current connection's go to `deliver`, in order, each
   * awaited; reports about a connection still opening are held until `settled`; the rest are
   * answered as disowned.
   */
  receive?(batch: readonly ConnectorReport[], current: () => string | undefined, deliver: (sessionId: string, notice: RemoteNotice) => Promise<void>): Promise<ReportsAnswer>;
  /**
   * The user a token names, read without verifying it (only Kaleyra can): a token that names
   * another user is never sent. Undefined when the token names nobody this adapter can read.
   */
  tokenUserId(token: string): string | undefined;
  /**
   * When `check()` next has something to do (a handshake, an ack, a heartbeat deadline), in real
   * time (Date.now), so the session arms its one alarm for it; undefined when nothing waits.
   */
  nextDeadline(): number | undefined;
  /** Where notices go; one listener, the session object. */
  listen(listener: RemoteListener): void;
  /**
   * Runs the connections' own deadlines (handshake, emit and token-update acks, heartbeat) with no timer of
   * their own: the session object calls it on every alarm.
   */
  check(): void;
}

export interface CloseSessionRequest {
  /** The app, when known: a proof whose socket is gone may have no route left, only the session id. */
  appId?: string;
  userId?: string;
  /**
   * The remote session to close, when the caller kept it. Without it an adapter closes the last
   * session it opened for appId and userId, if it still remembers one.
   */
  sessionId?: string;
  /** Where the session was opened, when the adapter must derive the service's address. */
  environment?: Environment;
  region?: Region;
}

export interface MintAccessTokenRequest {
  environment: Environment;
  region: Region;
  /** The tenant's Kaleyra API key (`ak_live_…` or `ak_test_…`). A secret: never logged. */
  apiKey: string;
  userId: string;
  /** Kaleyra accepts 360..86400 seconds. */
  expiresInSec: number;
  /** The app's REST base URL, when it overrides the derived one (AppSettings.kaleyra). */
  restUrl?: string;
}

/**
 * Why a token could not be minted: the API key was refused, the user does not exist, the request
 * was invalid (expiresInSec out of range, a bad user id), or the service could not be reached.
 */
export type MintAccessTokenError = Extract<RemoteError, "unavailable"> | "unauthorized" | "user_not_found" | "invalid_request";

export type MintAccessTokenResult =
  | { ok: true; token: string; expiresAt: number }
  | { ok: false; error: MintAccessTokenError };

/** Server-side token source: Kaleyra's REST credentials call with the tenant's API key. */
export interface ServerTokenMinter {
  mintAccessToken(request: MintAccessTokenRequest): Promise<MintAccessTokenResult>;
}

/** What a session uses: the realtime port and the server-side token source, from one adapter. */
export type Remote = KaleyraRemote & ServerTokenMinter;
