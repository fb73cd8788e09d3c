/**
 * What one session object asks of its app's state (durable-objects/apps.ts routes each call to the
 * app's AppState), as this object: its helpers get this instead of the bindings whole.
 * Invariant: reports and releases are best effort and never awaited by a transition; a lost one is
 * corrected by the next (a slot is only updated while it exists, never with an older report).
 */
import { DEFAULT_MAX_SESSIONS, type AppSecrets } from "../core/app";
import { isActive, type ActiveStatus, type SessionState } from "../core/session";
import { cachedApp } from "./app-cache";
import type { AppRecord } from "./AppState-schema";
import { apps } from "./apps";
import type { Env } from "./bindings";
import type { SessionRoute } from "./session-route";
import { appState } from "./stubs";

export interface SessionApp {
  /** The app's secrets (cached in the isolate: a ticket check usually costs no call). */
  secrets(appId: string): Promise<AppSecrets | null>;
  /** The app's record now (cached likewise, at most 10 s old): its wake settings, for a wake. */
  record(appId: string): Promise<AppRecord | null>;
  /** One of the app's session slots for this session; false when the app has `maxSessions` already. */
  claimSlot(route: SessionRoute): Promise<boolean>;
  /** The app's current registration epoch (null: no app), remembering this object for the app's removal. */
  currentEpoch(route: SessionRoute): Promise<string | null>;
  releaseSlot(appId: string): void;
  /** Records the room of a link session; false when that room already ended. */
  indexRoom(appId: string, roomId: string): Promise<boolean>;
  /** A change of status, for the tenant API's list of sessions. */
  reportStatus(route: SessionRoute | undefined, before: SessionState, after: SessionState): void;
}

export function sessionApp(env: Env, objectId: string): SessionApp {
  return {
    secrets: (appId) => apps(env).getAppSecrets(appId),
    record: (appId) => cachedApp(appId, (id) => appState(env, id).getApp()),
    claimSlot: (route) => apps(env).claimSession(route.appId, objectId, route.app.maxSessions ?? DEFAULT_MAX_SESSIONS, route.appEpoch),
    currentEpoch: (route) => apps(env).sessionProven(route.appId, objectId, route.appEpoch),
    releaseSlot: (appId) => void apps(env).releaseSession(appId, objectId).catch(() => {}),
    indexRoom: (appId, roomId) => apps(env).indexRoomSession(appId, roomId, objectId),
    reportStatus(route, before, after) {
      if (route === undefined || before.status === after.status || !isActive(after)) return;
      const who = route.key.kind === "token" ? { kind: "token" as const, userId: route.key.userId } : { kind: "access_link" as const };
      void appState(env, route.appId)
        .sessionStatus(objectId, after.status as ActiveStatus, who, Date.now())
        .catch(() => {});
    },
  };
}
