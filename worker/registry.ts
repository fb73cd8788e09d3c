/**
 * The way to an app's state, for the Worker and for sessions. `registryStub(env)` keeps the call
 * shapes of the former deployment-wide registry (every method takes the appId first) and routes
 * each call to that app's own AppState object: nothing here calls the deployment-wide AppRegistry
 * except the admin's app list (`listApps`) and the admin's writes (`putApp` of a new app,
 * `deleteApp`, and the demo seed the first time it creates the demo app).
 * Every write of an app's settings through this facade drops the isolate's cached copy
 * (worker/app-cache.ts), so this isolate never serves settings older than its own write.
 */
import { isActive, type SessionState } from "../core/session";
import { isAppId, type AppSecretsUpdate, type AppSettings } from "../core/app";
import { REGISTRY_NAME, type AppRecord } from "../durable-objects/AppRegistry";
import type { ActiveStatus } from "../durable-objects/AppState";
import type { SessionRoute } from "../durable-objects/session-route";
import { cachedSecrets, forgetCachedApp } from "./app-cache";
import type { Env } from "./env";

export const DEMO_APP_SETTINGS: AppSettings = { environment: "sandbox", region: "eu" };

/** The app's own state object (one per appId, named by it). */
export function appState(env: Env, appId: string) {
  return env.APP_STATE.get(env.APP_STATE.idFromName(appId));
}

/** The deployment-wide list of apps: for the admin only. */
export function appList(env: Env) {
  return env.APP_REGISTRY.get(env.APP_REGISTRY.idFromName(REGISTRY_NAME));
}

export function registryStub(env: Env) {
  return {
    getApp: (appId: string) => appState(env, appId).getApp(),
    /** Cached in the isolate like the settings (worker/app-cache.ts): a ticket check costs no call. */
    getAppSecrets: (appId: string) => cachedSecrets(appId, (id) => appState(env, id).getAppSecrets()),
    async putApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}) {
      const written = await appState(env, appId).putApp(appId, settings, secrets);
      forgetCachedApp(appId);
      if (written.ok && written.value.created) await appList(env).listApp(appId, written.value.record.createdAt);
      return written;
    },
    async ensureApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}) {
      const written = await appState(env, appId).ensureApp(appId, settings, secrets);
      if (written.ok && written.value.created) {
        forgetCachedApp(appId);
        await appList(env).listApp(appId, written.value.record.createdAt);
      }
      return written;
    },
    /** True when the app existed; it is unlisted either way. */
    async deleteApp(appId: string) {
      const existed = await appState(env, appId).deleteApp();
      forgetCachedApp(appId);
      await appList(env).unlistApp(appId);
      return existed;
    },
    /**
     * Removes the app in one step (AppState.removeApp): the session objects to end (active and
     * proven ones, idle included), or null when there was no app. Unlisted either way.
     */
    async removeApp(appId: string) {
      const objects = await appState(env, appId).removeApp();
      forgetCachedApp(appId);
      await appList(env).unlistApp(appId);
      return objects;
    },
    takeAppSessions: (appId: string) => appState(env, appId).takeAppSessions(),
    /** `epoch`: the registration the session's socket was routed with; another one claims nothing. */
    claimSession: (appId: string, objectId: string, max: number, epoch?: string) => appState(env, appId).claimSession(objectId, max, epoch),
    sessionProven: (appId: string, objectId: string, epoch: string) => appState(env, appId).sessionProven(objectId, epoch),
    releaseSession: (appId: string, objectId: string) => appState(env, appId).releaseSession(objectId),
    indexRoomSession: (appId: string, roomId: string, objectId: string) => appState(env, appId).indexRoomSession(roomId, objectId),
    takeRoomSessions: (appId: string, roomId: string) => appState(env, appId).takeRoomSessions(roomId),
    markWebhookSeen: (appId: string, signature: string, signedAtSec: number, forgetBeforeSec: number) =>
      appState(env, appId).markWebhookSeen(signature, signedAtSec, forgetBeforeSec),
    forgetWebhook: (appId: string, signature: string) => appState(env, appId).forgetWebhook(signature),
  };
}

export type Registry = ReturnType<typeof registryStub>;

/**
 * Tells the app's state that a session's status changed (for the tenant API's list). Called by
 * UserSession.dispatch after every transition; not awaited, best effort: an inactive session is
 * released by the session itself, and a lost report is corrected by the next one.
 */
export function reportSessionStatus(env: Env, route: SessionRoute | undefined, objectId: string, before: SessionState, after: SessionState): void {
  if (route === undefined || before.status === after.status || !isActive(after)) return;
  const who = route.key.kind === "token" ? { kind: "token" as const, userId: route.key.userId } : { kind: "access_link" as const };
  void appState(env, route.appId)
    .sessionStatus(objectId, after.status as ActiveStatus, who, Date.now())
    .catch(() => {});
}

const seededDemoApps = new Set<string>();

/** Registers env.DEMO_APP_ID as a sandbox/eu app if it is absent; returns the stored record. */
export async function seedDemoApp(env: Env): Promise<AppRecord | null> {
  const appId = env.DEMO_APP_ID;
  if (appId === undefined || appId === "") return null;
  if (!isAppId(appId)) {
    console.warn("DEMO_APP_ID is not an app id (mAppId_...); no demo app registered");
    return null;
  }
  const apiKey = env.DEMO_KALEYRA_API_KEY;
  const result = apiKey
    ? await registryStub(env).ensureApp(appId, { ...DEMO_APP_SETTINGS, serverTokens: { source: "kaleyra_api", order: "fallback" } }, { kaleyraApiKey: apiKey })
    : await registryStub(env).ensureApp(appId, DEMO_APP_SETTINGS);
  return result.ok ? result.value.record : null;
}

/**
 * The registry facade, after the demo app of this isolate is in place (once per isolate per demo
 * id: an admin's delete is not undone by the same isolate; an existing demo is never overwritten).
 */
export async function appRegistry(env: Env): Promise<Registry> {
  const demo = env.DEMO_APP_ID;
  if (demo !== undefined && !seededDemoApps.has(demo)) {
    // Marked only after the app is in place, so a failed seed is retried by the next request (a
    // malformed DEMO_APP_ID is warned about on every request until fixed).
    if ((await seedDemoApp(env)) !== null) seededDemoApps.add(demo);
  }
  return registryStub(env);
}
