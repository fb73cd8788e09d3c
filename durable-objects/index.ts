/**
 * What the layers above (worker/, and the compositions) use of the objects' layer: the object
 * classes and what a composition gives them (a session's remote over the connectors, a
 * connector's upstream), the bindings, the stubs, the way to an app's state, and what a socket
 * route hands a session. Everything else in durable-objects/ is the objects' own (a dependency test holds
 * worker/ to this file).
 */
export { AppRegistry, MAX_APPS_PAGE, type AppRecord } from "./AppRegistry";
export { AppState, MAX_SESSIONS_PAGE } from "./AppState";
export { UserSession } from "./UserSession";
export { KaleyraConnector } from "./connector/KaleyraConnector";
export { connectorRemote } from "./connector/session-remote";
export type { ConnectorUpstream } from "./connector/upstream";
export type { Env } from "./bindings";
export { apps } from "./apps";
export { cachedApp } from "./app-cache";
export { appRegistry, appState, forwardUpgrade, userSession, userSessionById } from "./stubs";
export { refuseUpgrade } from "./refuse";
export type { SessionKey, SessionRoute } from "./session-route";
