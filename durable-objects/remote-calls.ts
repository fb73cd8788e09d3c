/**
 * The session's calls to Kaleyra and to the app's server-side token source, each turned into the
 * core event that reports its outcome. Not awaited by the transition that asked: if the object is
 * evicted meanwhile, the call's deadline (a duty in the state) turns the lost answer into
 * "unavailable".
 * Invariant: a call never throws; tokens, links and secrets are never logged.
 */
import { DEFAULT_RETRY_POLICY } from "../core/policy";
import { SERVER_SOURCE, type Effect, type SessionEvent, type SessionState } from "../core/session";
import type { AppSecrets } from "../core/app";
import type { CloseSessionRequest, OpenSessionResult, Remote } from "../core/port";
import { fetchServerToken } from "./server-tokens";
import type { SessionRoute } from "./session-route";

/** Narrow interface the calls use to reach the session object and the app's state. */
export interface RemoteCallsHost {
  remote: Remote;
  now(): number;
  state(): SessionState;
  route(): SessionRoute | undefined;
  dispatch(event: SessionEvent): Promise<void>;
  appSecrets(appId: string): Promise<AppSecrets | null>;
  /** Records the room of a link session; false when that room already ended. */
  indexRoom(appId: string, roomId: string): Promise<boolean>;
  /** `ALLOW_LOCAL_WEBHOOKS`: the local composition may call a token webhook on loopback. */
  allowLocalWebhooks: boolean;
}

export class RemoteCalls {
  constructor(private readonly host: RemoteCallsHost) {}

  async open(fx: Extract<Effect, { type: "open_remote" }>): Promise<void> {
    const route = this.host.route();
    let event: SessionEvent;
    let roomEnded = false;
    try {
      if (!route) throw new Error("no route stored for an active session");
      const result = await this.host.remote.openSession({
        appId: route.appId,
        environment: route.app.environment,
        region: route.app.region,
        credential: fx.credential,
        now: this.host.now(),
        ...(route.app.kaleyra?.realtimeUrl === undefined ? {} : { realtimeUrl: route.app.kaleyra.realtimeUrl }),
        ...(fx.previousSocketId === undefined ? {} : { previousSocketId: fx.previousSocketId }),
        ...(route.app.upstream?.pool === "own" ? { ownPool: true } : {}),
      });
      if (result.ok && result.roomId !== undefined && fx.credential.kind === "access_link") {
        // So Kaleyra's room-ended webhook can find this session (worker/webhooks.ts); a room that
        // ended while this open was in flight ends the call as soon as it connects.
        roomEnded = !(await this.host.indexRoom(route.appId, result.roomId));
      }
      event = result.ok ? openedEvent(fx.requestId, result) : { type: "remote_failed", requestId: fx.requestId, error: result.error };
    } catch (err) {
      console.warn("remote open failed", { requestId: fx.requestId, error: String(err) });
      event = { type: "remote_failed", requestId: fx.requestId, error: "unavailable" };
    }
    await this.host.dispatch(event);
    // Whatever Kaleyra said on the new connection before its answer reached us comes now, in order.
    if (event.type === "remote_opened" && event.remoteSessionId !== undefined) this.host.remote.settled?.(event.remoteSessionId);
    if (roomEnded) await this.host.dispatch({ type: "call_ended" });
  }

  /** The last close asked for (it never rejects): the tenant API's end answers once it is done. */
  closing: Promise<void> | undefined;

  close(fx: Extract<Effect, { type: "close_remote" }>): Promise<void> {
    this.closing = this.closeRemote(fx);
    return this.closing;
  }

  private async closeRemote({ requestId, remoteSessionId }: Extract<Effect, { type: "close_remote" }>): Promise<void> {
    const route = this.host.route();
    try {
      // A connection this session holds is closed by its id even with no route left to name the
      // app (a proof whose socket is gone): it must not stay open.
      if (route || remoteSessionId !== undefined) {
        const request: CloseSessionRequest = route ? { appId: route.appId, environment: route.app.environment, region: route.app.region } : {};
        const userId = this.host.state().userId;
        if (userId !== undefined) request.userId = userId;
        if (remoteSessionId !== undefined) request.sessionId = remoteSessionId;
        await this.host.remote.closeSession(request);
      }
    } catch (err) {
      // Closing is best effort: a connection that is not closed here is lost with this object anyway.
      console.warn("remote close failed", { requestId, error: String(err) });
    }
    await this.host.dispatch({ type: "remote_closed", requestId });
  }

  /** A refreshed token for the live connection; Kaleyra's ack comes back as remote_updated or remote_failed. */
  async update(fx: Extract<Effect, { type: "update_remote" }>): Promise<void> {
    let event: SessionEvent;
    try {
      const result = await this.host.remote.updateToken(fx.remoteSessionId, fx.token);
      event = result.ok
        ? result.expiresAt === undefined
          ? { type: "remote_updated", requestId: fx.requestId }
          : { type: "remote_updated", requestId: fx.requestId, expiresAt: result.expiresAt }
        : { type: "remote_failed", requestId: fx.requestId, error: result.error };
    } catch (err) {
      console.warn("remote token update failed", { requestId: fx.requestId, error: String(err) });
      event = { type: "remote_failed", requestId: fx.requestId, error: "unavailable" };
    }
    await this.host.dispatch(event);
  }

  /** Asks the app's server-side token source; its answer comes back as the SERVER_SOURCE client's. */
  async askServer(fx: Extract<Effect, { type: "request_token" }>): Promise<void> {
    const route = this.host.route();
    const settings = route?.app.serverTokens;
    const secrets = route && settings ? await this.host.appSecrets(route.appId).catch(() => null) : null;
    const result =
      route && settings && secrets
        ? await fetchServerToken(
            {
              appId: route.appId,
              userId: fx.userId,
              requestId: fx.requestId,
              environment: route.app.environment,
              region: route.app.region,
              settings,
              secrets,
              timeoutMs: this.host.state().policy?.tokenAttemptTimeoutMs ?? DEFAULT_RETRY_POLICY.tokenAttemptTimeoutMs,
              ...(route.app.kaleyra?.restUrl === undefined ? {} : { restUrl: route.app.kaleyra.restUrl }),
              allowLocal: this.host.allowLocalWebhooks,
            },
            { minter: this.host.remote, fetch: (request) => fetch(request), nowSec: () => this.host.now() / 1_000 },
          )
        : { ok: false as const, reason: "no server-side token source configured" };
    // Names the app and user (never a token or a key) so that an operator can tell whose attempts fail.
    if (!result.ok) console.warn("server token attempt failed", { appId: route?.appId, userId: fx.userId, attempt: fx.attempt, requestId: fx.requestId, reason: result.reason });
    await this.host.dispatch(
      result.ok
        ? { type: "token_answer", clientId: SERVER_SOURCE, requestId: fx.requestId, token: result.token }
        : { type: "token_failure", clientId: SERVER_SOURCE, requestId: fx.requestId, ...(result.cause === undefined ? {} : { cause: result.cause }) },
    );
  }
}

function openedEvent(requestId: string, result: Extract<OpenSessionResult, { ok: true }>): SessionEvent {
  const event: Extract<SessionEvent, { type: "remote_opened" }> = { type: "remote_opened", requestId, userId: result.userId };
  if (result.expiresAt !== undefined) event.expiresAt = result.expiresAt;
  if (result.sessionId !== undefined) event.remoteSessionId = result.sessionId;
  if (result.socketId !== undefined) event.socketId = result.socketId;
  return event;
}
