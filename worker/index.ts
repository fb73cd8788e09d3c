/**
 * The production composition (wrangler.toml): the HTTP app, and the Durable Object classes
 * wrangler binds by name, each session with the production adapter to Kaleyra.
 */
import { app } from "./app";
import type { Env } from "./env";
import { UserSession as Session } from "../durable-objects/UserSession";
import { kaleyraRemote } from "../remote";

export { AppRegistry } from "../durable-objects/AppRegistry";
export { AppState } from "../durable-objects/AppState";

/** Deployed sessions talk to Kaleyra (remote/index.ts). */
export class UserSession extends Session {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, kaleyraRemote(env));
  }
}

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
