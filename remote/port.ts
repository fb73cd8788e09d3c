/**
 * The port to Kaleyra's realtime services: open a session with a credential, close it.
 * Adapters answer with data, never throw for a remote refusal; a thrown error or a rejected
 * promise is treated by the session as "unavailable".
 */
import type { Environment, Region } from "../core/app";
import type { Credential, RemoteError } from "../core/session";

export interface OpenSessionRequest {
  appId: string;
  environment: Environment;
  region: Region;
  credential: Credential;
  /** The session's clock, so adapters judge expiry on the same time line as the schedule. */
  now: number;
}

export type OpenSessionResult =
  | {
      ok: true;
      userId: string;
      expiresAt?: number;
      /** The remote session's id, to close exactly that session later. */
      sessionId?: string;
      /** For access links: the room (call) the link belongs to, for the room-ended webhook. */
      roomId?: string;
    }
  | { ok: false; error: RemoteError };

export interface KaleyraRemote {
  openSession(request: OpenSessionRequest): Promise<OpenSessionResult>;
  closeSession(request: CloseSessionRequest): Promise<void>;
}

export interface CloseSessionRequest {
  appId: string;
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
