/**
 * The one place stubs to the project's Durable Objects are made, each by what names its object:
 * a UserSession by its app and session key (or by its id, as an app's index lists them), an
 * AppState by its appId, the deployment's one AppRegistry (the admin's list of apps), and a
 * KaleyraConnector by its name (core/connector.ts: pool and shard).
 */
import type { Env } from "./bindings";
import { forwardedRequest, sessionObjectName, type SessionKey, type SessionRoute } from "./session-route";

const APP_REGISTRY_NAME = "registry";

/** The session of one user, or of one access link (by its digest), of an app. */
export function userSession(env: Env, appId: string, key: SessionKey) {
  return env.USER_SESSION.get(env.USER_SESSION.idFromName(sessionObjectName(appId, key)));
}

/** Hands a client's WebSocket upgrade, validated by the Worker, to its session with the route. */
export function forwardUpgrade(env: Env, request: Request, route: SessionRoute): Promise<Response> {
  return userSession(env, route.appId, route.key).fetch(forwardedRequest(request, route));
}

/** A session named by its object id (an app's index of sessions lists ids). */
export function userSessionById(env: Env, objectId: string) {
  return env.USER_SESSION.get(env.USER_SESSION.idFromString(objectId));
}

/** The app's own state object (one per appId, named by it). */
export function appState(env: Env, appId: string) {
  return env.APP_STATE.get(env.APP_STATE.idFromName(appId));
}

/** The deployment-wide list of apps: for the admin only. */
export function appRegistry(env: Env) {
  return env.APP_REGISTRY.get(env.APP_REGISTRY.idFromName(APP_REGISTRY_NAME));
}

/** A connector by its name (core/connector.ts), placed near Kaleyra's region when a hint is given (a hint only counts at creation). */
export function kaleyraConnector(env: Env, name: string, locationHint?: string) {
  const id = env.KALEYRA_CONNECTOR.idFromName(name);
  return locationHint === undefined ? env.KALEYRA_CONNECTOR.get(id) : env.KALEYRA_CONNECTOR.get(id, { locationHint: locationHint as DurableObjectLocationHint });
}
