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
  | { ok: true; userId: string; expiresAt?: number }
  | { ok: false; error: RemoteError };

export interface KaleyraRemote {
  openSession(request: OpenSessionRequest): Promise<OpenSessionResult>;
  closeSession(request: { appId: string; userId?: string }): Promise<void>;
}
