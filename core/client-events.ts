/**
 * A proven client's frame as a session event (core/transition.ts), or the error that belongs to
 * its socket. The socket's route fixes the session's kind and user: a connect of the other kind is
 * the seed's exclusion rule (session_conflict while a session runs), and a connect for another user
 * is user_mismatch. Pure; auth frames never get here (core/attach.ts keeps them).
 */
import type { AppSettings } from "./app";
import { DEFAULT_RETRY_POLICY } from "./policy";
import type { ClientFrame } from "./protocol";
import { isActive, type SessionEvent, type SessionState } from "./session";
import { graceMsOf } from "./upstream";

export interface SocketRoute {
  key: { kind: "token"; userId: string } | { kind: "access_link" };
  app: AppSettings;
}

export type Refusal = { refused: "session_conflict" | "wrong_endpoint" | "user_mismatch" };

/** `remote_emit` never becomes a session event: the relay answers it (durable-objects/relay.ts). */
export function eventFor(frame: Exclude<ClientFrame, { type: "remote_emit" }>, clientId: string, route: SocketRoute, state: SessionState): SessionEvent | Refusal {
  switch (frame.type) {
    case "auth":
      return { refused: "user_mismatch" };
    case "connect": {
      const kind = "userId" in frame ? "token" : "access_link";
      if (kind !== route.key.kind) return { refused: isActive(state) ? "session_conflict" : "wrong_endpoint" };
      const policy = route.app.retryPolicy ?? DEFAULT_RETRY_POLICY;
      if (!("userId" in frame)) {
        const graceMs = graceMsOf(route.app.upstream);
        return { type: "connect_link", clientId, accessLink: frame.accessLink, policy, ...(graceMs === undefined ? {} : { graceMs }) };
      }
      if (route.key.kind !== "token" || frame.userId !== route.key.userId) return { refused: "user_mismatch" };
      return connectTokenEvent(clientId, frame.userId, route.app);
    }
    case "token":
      return { type: "token_answer", clientId, requestId: frame.requestId, token: frame.token };
    case "token_failed":
      return { type: "token_failure", clientId, requestId: frame.requestId };
    case "disconnect":
      return { type: "disconnect", clientId, clearSavedData: frame.clearSavedData };
  }
}

/**
 * A token connect with the app's retry policy and server-side token order; `proof` for a socket
 * proving itself (with the token its proof came with, if any).
 */
export function connectTokenEvent(clientId: string, userId: string, app: AppSettings, proof?: { token?: string }): Extract<SessionEvent, { type: "connect_token" }> {
  const event: Extract<SessionEvent, { type: "connect_token" }> = { type: "connect_token", clientId, userId, policy: app.retryPolicy ?? DEFAULT_RETRY_POLICY };
  const serverTokens = app.serverTokens?.order;
  if (serverTokens !== undefined) event.serverTokens = serverTokens;
  if (proof !== undefined) event.proof = proof;
  const graceMs = graceMsOf(app.upstream);
  if (graceMs !== undefined) event.graceMs = graceMs;
  return event;
}
