/**
 * The session's state, its events and its effects: plain data, so the state can be stored as is
 * and every transition can be replayed in a test.
 * Invariants: at most one of pendingToken, pendingRemote, nextTokenAttemptAt and nextReconnectAt
 * is set; refreshAt is set only while connected with a token that expires.
 */
import type { RetryPolicy } from "./policy";

export const STATUSES = ["disconnected", "connecting", "connected", "reconnecting", "disconnecting"] as const;
export type Status = (typeof STATUSES)[number];
/** The statuses of a session that holds or is trying to hold a remote session (isActive). */
export const ACTIVE_STATUSES = ["connecting", "connected", "reconnecting"] as const satisfies readonly Status[];
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
export type Mode = "token" | "access_link";
/** Android's `Disconnected` error states. */
export type DisconnectError = "expired_credentials" | "user_inactive" | "unsupported_version" | "unknown";
/** Why the session is disconnected: finer than the error, shown to clients. */
export type DisconnectReason =
  | "requested"
  | "user_inactive"
  | "invalid_access_link"
  | "call_ended"
  | "unsupported_version";

/**
 * Why the session is not connected right now: the last failure of the current token or reconnect
 * cycle. `token_timeout`: the asked source gave no answer in time; `token_failed`: the source said
 * it has no token; `token_expired` / `token_invalid`: Kaleyra refused the token; `user_not_found`:
 * Kaleyra knows no such user (create it, or fix the user id); `unavailable`:
 * Kaleyra could not be reached; `remote_lost`: the connection to Kaleyra dropped; `idle`: the app's
 * upstream policy closed the connection while no client was attached (core/upstream.ts), and the
 * next client to attach reconnects it.
 */
export type LastError = "token_timeout" | "token_failed" | "token_expired" | "token_invalid" | "user_not_found" | "unavailable" | "remote_lost" | "idle";

/** What Kaleyra's services can answer when a session is opened (the remote port's errors). */
export type RemoteError = "token_expired" | "token_invalid" | "user_not_found" | "user_inactive" | "unavailable" | "invalid_access_link" | "unsupported_version";

/**
 * The pseudo client id of the app's server-side token source (Kaleyra's credentials call with the
 * tenant's API key, or the tenant's webhook). Real client ids are UUIDs, so it never collides.
 */
export const SERVER_SOURCE = "server";

/**
 * Where the server-side source stands among the token sources: asked before any client ("first"),
 * or only when no client is attached or every attached client failed in this cycle ("fallback").
 */
export type ServerTokenOrder = "first" | "fallback";

interface PendingToken {
  requestId: string;
  /** 1-based attempt number within the current token cycle. */
  attempt: number;
  deadline: number;
  /** The client (or SERVER_SOURCE) holding the request; undefined while no source is available. */
  clientId?: string;
}

interface PendingRemote {
  requestId: string;
  deadline: number;
  /** open: connect to Kaleyra; update: a refreshed token on the live connection; close: disconnect. */
  purpose: "open" | "update" | "close";
}

export interface SessionState {
  v: 1;
  status: Status;
  mode?: Mode;
  userId?: string;
  /** Kept only to reopen a link session; never shown to clients (it is a bearer credential). */
  accessLink?: string;
  error?: DisconnectError;
  reason?: DisconnectReason;
  policy?: RetryPolicy;
  /** Absent: the app has no server-side token source. */
  serverTokens?: ServerTokenOrder;
  /** Fresh per connect; prefixes request ids so an answer from an earlier session never matches. */
  nonce: string;
  seq: number;
  /** Token attempts started in the current cycle. */
  tokenAttempt: number;
  /** Reconnect attempts started since the last successful connection. */
  reconnectAttempt: number;
  /** A token cycle is running while the remote session is up (refresh or remote token_expired). */
  refreshing: boolean;
  /** Clients already asked in this cycle, so the next attempt asks someone else first. */
  askedInCycle: string[];
  clearOnDisconnect: boolean;
  pendingToken?: PendingToken;
  pendingRemote?: PendingRemote;
  nextTokenAttemptAt?: number;
  nextReconnectAt?: number;
  refreshAt?: number;
  expiresAt?: number;
  /** While connected: when to check that the Kaleyra connection is still alive (core/refresh.ts). */
  livenessCheckAt?: number;
  /** The app's upstream policy "grace" (core/upstream.ts): how long the connection outlives the last client. */
  graceMs?: number;
  /** With graceMs: when the connection closes unless a client attaches first (no client attached now). */
  idleAt?: number;
  /** The connection was closed for idleness: nothing runs until a client attaches (status reconnecting, lastError idle). */
  idle?: true;
  /** When this session was connected (the connect event), to ignore notices about an older one. */
  startedAt?: number;
  /** The remote session's id while connected, so disconnect closes exactly that one. */
  remoteSessionId?: string;
  /** The last failure since the session was last connected; cleared when it connects. */
  lastError?: LastError;
  /** Kaleyra's socket id of the last connection that was up: a reconnect's CONNECT sends it (`socket-id`). */
  lastSocketId?: string;
  /**
   * Set while the session was started by an unproven socket proving the user (core/attach.ts): it
   * runs the seed's schedule like any session, but that socket is its only token source, only that
   * socket hears of it, and the app's server-side source waits (`serverTokens` is applied on
   * success). It becomes a real session when Kaleyra accepts one of the prover's tokens; it ends
   * with nothing left running when the prover leaves or a final answer comes.
   */
  proof?: { clientId: string; serverTokens?: ServerTokenOrder };
  /**
   * Set on an access-link session until Kaleyra first accepts its link: anyone can make up a link,
   * so it takes one of the app's session slots only then (the claim_slot effect).
   */
  unclaimed?: true;
}

export type Credential =
  | { kind: "token"; userId: string; token: string }
  | { kind: "access_link"; accessLink: string };

export type SessionEvent =
  /**
   * With proof: an unproven socket (clientId) proves the user by connecting; `proof.token`, when its
   * proof came with one, is token attempt 1 (else attempt 1 is asked of it like any other).
   */
  | { type: "connect_token"; clientId?: string; userId: string; policy: RetryPolicy; serverTokens?: ServerTokenOrder; proof?: { token?: string }; graceMs?: number }
  | { type: "connect_link"; clientId?: string; accessLink: string; policy: RetryPolicy; graceMs?: number }
  | { type: "token_answer"; clientId?: string; requestId: string; token: string }
  /** `cause`: set only by the server-side source, when it knows why (Kaleyra unreachable, no such user). */
  | { type: "token_failure"; clientId?: string; requestId: string; cause?: Extract<LastError, "unavailable" | "user_not_found"> }
  /** `socketId`: Kaleyra's id of the new connection, sent back as `socket-id` when reconnecting. */
  | { type: "remote_opened"; requestId: string; userId: string; expiresAt?: number; remoteSessionId?: string; socketId?: string }
  | { type: "remote_failed"; requestId: string; error: RemoteError }
  | { type: "remote_closed"; requestId: string }
  /**
   * The remote session dropped while connected (a failed check, a remote notice). `byServer`:
   * Kaleyra closed it, which for an access link is the end of its call (docs/remote.md).
   */
  | { type: "remote_lost"; byServer?: boolean }
  /** The remote says the current token expired while the session is up. */
  | { type: "remote_token_expired" }
  /** The remote says the current token is about to expire: refresh now unless already refreshing. */
  | { type: "remote_token_expiring" }
  /** The live connection took the refreshed token. */
  | { type: "remote_updated"; requestId: string; expiresAt?: number }
  /**
   * The live connection took a joining socket's token (its proof, core/attach.ts): Kaleyra holds
   * that token now, so it refreshes the session too.
   */
  | { type: "remote_token_joined"; expiresAt?: number }
  /** Kaleyra deactivated the user (a signed webhook): final, like a user_inactive answer. */
  | { type: "user_deactivated"; at?: number }
  /** The access-link call ended. */
  | { type: "call_ended" }
  | { type: "client_attached"; clientId: string }
  | { type: "client_left"; clientId: string }
  | { type: "alarm" }
  | { type: "disconnect"; clientId?: string; clearSavedData: boolean };

export type Effect =
  /**
   * Ask for a token: clientId names the one client asked, or SERVER_SOURCE; undefined means no
   * source is available now (the request waits for a client to attach).
   */
  | { type: "request_token"; requestId: string; userId: string; attempt: number; clientId?: string; expiresAt?: number }
  /** `previousSocketId`: a reconnect names the connection it replaces (Kaleyra's `socket-id`). */
  | { type: "open_remote"; requestId: string; credential: Credential; previousSocketId?: string }
  /** Give the live connection a refreshed token (a refresh is not a reconnect). */
  | { type: "update_remote"; requestId: string; remoteSessionId: string; token: string }
  /** Is the live connection still there? The object answers remote_lost when it is not. */
  | { type: "check_remote"; remoteSessionId: string }
  | { type: "close_remote"; requestId: string; remoteSessionId?: string }
  /** Arm the one alarm for this time, or clear it (null). */
  | { type: "set_alarm"; at: number | null }
  /** The client-visible view changed: send it to every attached client. */
  | { type: "broadcast" }
  | { type: "reply_error"; clientId?: string; code: "session_conflict" | "user_mismatch" | "token_request_stale"; requestId?: string }
  /** Delete everything stored for this session, server and client side. */
  | { type: "clear_data" }
  /**
   * Kaleyra accepted the session for the first time (a proof's token, or an access link): it takes
   * one of the app's session slots now; then the prover, if any, becomes a client and every client
   * hears the state (the transition itself broadcasts nothing, so no one sees it connected first).
   */
  | { type: "claim_slot"; prover?: string }
  /** The prover's own proof changed (or ended for good): only that socket is sent this view. */
  | { type: "proof_view"; clientId: string; view: SessionView }
  /**
   * The proof ended without a session and the prover may prove again: overtaken by a proven
   * client's connect or disconnect (auth_required: prove against the running session now), or
   * the session is still closing (unavailable: retry).
   */
  | { type: "proof_failed"; clientId: string; code: "unavailable" | "auth_required" };

export interface TransitionContext {
  now: number;
  random: () => number;
  /** Ids of the attached clients, oldest first. */
  clients: readonly string[];
}

/** What every client is sent: the state without credentials or internal bookkeeping. */
export interface SessionView {
  status: Status;
  mode?: Mode;
  userId?: string;
  error?: DisconnectError;
  reason?: DisconnectReason;
  tokenAttempt: number;
  reconnectAttempt: number;
  refreshing: boolean;
  /** When the next token or reconnect attempt starts, if one is waiting. */
  nextAttemptAt?: number;
  expiresAt?: number;
  /** While connected: when the next token refresh starts (core/refresh.ts). */
  refreshAt?: number;
  /** Why the session is not connected: the last failure of the current cycle (see LastError). */
  lastError?: LastError;
}

export function initialState(): SessionState {
  return {
    v: 1,
    status: "disconnected",
    nonce: "",
    seq: 0,
    tokenAttempt: 0,
    reconnectAttempt: 0,
    refreshing: false,
    askedInCycle: [],
    clearOnDisconnect: false,
  };
}

export function view(s: SessionState): SessionView {
  const v: SessionView = {
    status: s.status,
    tokenAttempt: s.tokenAttempt,
    reconnectAttempt: s.reconnectAttempt,
    refreshing: s.refreshing,
  };
  if (s.mode !== undefined) v.mode = s.mode;
  if (s.userId !== undefined) v.userId = s.userId;
  if (s.error !== undefined) v.error = s.error;
  if (s.reason !== undefined) v.reason = s.reason;
  const next = s.nextTokenAttemptAt ?? s.nextReconnectAt;
  if (next !== undefined) v.nextAttemptAt = next;
  if (s.expiresAt !== undefined) v.expiresAt = s.expiresAt;
  if (s.refreshAt !== undefined) v.refreshAt = s.refreshAt;
  if (s.lastError !== undefined) v.lastError = s.lastError;
  return v;
}

/** The earliest time a duty is due, the one alarm's time; undefined when nothing waits. */
export function nextDue(s: SessionState): number | undefined {
  const dues = [
    s.pendingToken?.deadline,
    s.pendingRemote?.deadline,
    s.nextTokenAttemptAt,
    s.nextReconnectAt,
    s.refreshAt,
    s.livenessCheckAt,
    s.idleAt,
  ].filter((t): t is number => t !== undefined);
  return dues.length === 0 ? undefined : Math.min(...dues);
}

/** An active session holds or is trying to hold a remote session. */
export function isActive(s: SessionState): boolean {
  return (ACTIVE_STATUSES as readonly Status[]).includes(s.status);
}

/**
 * A real session holds one of its app's session slots; a pending proof (nobody's session yet) and
 * a link Kaleyra has not accepted yet hold none.
 */
export function holdsSessionSlot(s: SessionState): boolean {
  return isActive(s) && s.proof === undefined && s.unclaimed === undefined;
}
