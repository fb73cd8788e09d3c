/**
 * An app's state by its appId, for the Worker and for sessions: every method takes the appId first
 * and is routed to that app's own AppState object (durable-objects/stubs.ts). Nothing here calls
 * the deployment-wide AppRegistry except the admin's writes (`putApp` of a new app, `ensureApp`,
 * `deleteApp`, `removeApp`), which keep its list of apps in step.
 * Every write of an app's settings through here drops the isolate's cached copy (app-cache.ts), so
 * this isolate never serves settings older than its own write.
 */
import type { AppSecretsUpdate, AppSettings } from "../core/app";
import { cachedSecrets, forgetCachedApp } from "./app-cache";
import type { Env } from "./bindings";
import { appRegistry, appState } from "./stubs";

export function apps(env: Env) {
  return {
    getApp: (appId: string) => appState(env, appId).getApp(),
    /** Cached in the isolate like the settings (app-cache.ts): a ticket check costs no call. */
    getAppSecrets: (appId: string) => cachedSecrets(appId, (id) => appState(env, id).getAppSecrets()),
    async putApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}) {
      const written = await appState(env, appId).putApp(appId, settings, secrets);
      forgetCachedApp(appId);
      if (written.ok && written.value.created) await appRegistry(env).listApp(appId, written.value.record.createdAt);
      return written;
    },
    async ensureApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}) {
      const written = await appState(env, appId).ensureApp(appId, settings, secrets);
      if (written.ok && written.value.created) {
        forgetCachedApp(appId);
        await appRegistry(env).listApp(appId, written.value.record.createdAt);
      }
      return written;
    },
    /** True when the app existed; it is unlisted either way. */
    async deleteApp(appId: string) {
      const existed = await appState(env, appId).deleteApp();
      forgetCachedApp(appId);
      await appRegistry(env).unlistApp(appId);
      return existed;
    },
    /**
     * Removes the app in one step (AppState.removeApp): the session objects to end (active and
     * proven ones, idle included), or null when there was no app. Unlisted either way.
     */
    async removeApp(appId: string) {
      const objects = await appState(env, appId).removeApp();
      forgetCachedApp(appId);
      await appRegistry(env).unlistApp(appId);
      return objects;
    },
    takeAppSessions: (appId: string) => appState(env, appId).takeAppSessions(),
    /** `epoch`: the registration the session's socket was routed with; another one claims nothing. */
    claimSession: (appId: string, objectId: string, max: number, epoch?: string) => appState(env, appId).claimSession(objectId, max, epoch),
    sessionProven: (appId: string, objectId: string, epoch: string) => appState(env, appId).sessionProven(objectId, epoch),
    releaseSession: (appId: string, objectId: string) => appState(env, appId).releaseSession(objectId),
    indexRoomSession: (appId: string, roomId: string, objectId: string) => appState(env, appId).indexRoomSession(roomId, objectId),
    takeRoomSessions: (appId: string, roomId: string) => appState(env, appId).takeRoomSessions(roomId),
    /** The users the tenant said the room calls (v0 on_call_incoming wakes them). */
    roomUsers: (appId: string, roomId: string) => appState(env, appId).roomUsers(roomId),
    markWebhookSeen: (appId: string, signature: string, signedAtSec: number, forgetBeforeSec: number) =>
      appState(env, appId).markWebhookSeen(signature, signedAtSec, forgetBeforeSec),
    forgetWebhook: (appId: string, signature: string) => appState(env, appId).forgetWebhook(signature),
  };
}
