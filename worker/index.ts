/** The Worker's entry: the HTTP app, and the Durable Object classes wrangler binds by name. */
import { app } from "./app";
import type { Env } from "./env";

export { AppRegistry } from "../durable-objects/AppRegistry";
export { AppState } from "../durable-objects/AppState";
export { UserSession } from "../durable-objects/UserSession";
export { KaleyraConnector } from "../durable-objects/connector/KaleyraConnector";

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
