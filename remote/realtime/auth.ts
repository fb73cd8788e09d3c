/**
 * The Socket.IO CONNECT packet's `auth` object, as Kaleyra's web client sends it [web]:
 * `app-id`, `user-id` (null for an access link), `access-token` or `access-link`, `sdk-name`,
 * `sdk-version`, `client-name`, `client`, `user-agent`, and `socket-id` (the previous socket id)
 * on a reconnect.
 * Invariant: exactly one of access-token and access-link is present. The auth object holds a
 * secret: it is written to the socket only, never logged.
 */
import type { Credential } from "../../core/session";

export interface RealtimeAuth {
  "app-id": string;
  "user-id": string | null;
  "access-token"?: string;
  "access-link"?: string;
  "sdk-name": string;
  "sdk-version": string;
  "client-name": string;
  client: string;
  "user-agent": string;
  "socket-id"?: string;
}

/** Who is connecting, in the words of the auth payload. Our choice of values [none]. */
export interface RealtimeClientInfo {
  sdkName: string;
  sdkVersion: string;
  clientName: string;
  client: string;
  userAgent: string;
}

export function realtimeAuth(appId: string, credential: Credential, info: RealtimeClientInfo, previousSocketId?: string): RealtimeAuth {
  return {
    "app-id": appId,
    "user-id": credential.kind === "token" ? credential.userId : null,
    ...(credential.kind === "token" ? { "access-token": credential.token } : { "access-link": credential.accessLink }),
    "sdk-name": info.sdkName,
    "sdk-version": info.sdkVersion,
    "client-name": info.clientName,
    client: info.client,
    "user-agent": info.userAgent,
    ...(previousSocketId === undefined ? {} : { "socket-id": previousSocketId }),
  };
}
