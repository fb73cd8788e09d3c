/**
 * The production composition (wrangler.toml): the HTTP app, and the Durable Object classes
 * wrangler binds by name, each session with the production adapter to Kaleyra.
 */
import { app } from "./app";
import { UserSession as Session, type Env } from "../durable-objects";
import { kaleyraRemote } from "../remote";
import { wakeSender } from "../remote/push";

export { AppRegistry, AppState } from "../durable-objects";

/** Deployed sessions talk to Kaleyra (remote/index.ts) and wake closed apps through push services (remote/push). */
export class UserSession extends Session {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, kaleyraRemote(env), wakeSender());
  }
}

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
