/**
 * The production composition (wrangler.toml): the HTTP app, and the Durable Object classes
 * wrangler binds by name: each session over the connectors (with the production adapter for REST),
 * each connector with the production adapter's realtime part to Kaleyra.
 */
import { app } from "./app";
import { connectorRemote, KaleyraConnector as Connector, UserSession as Session, type Env } from "../durable-objects";
import { kaleyraRemote, kaleyraUpstream } from "../remote";
import { wakeSender } from "../remote/push";

export { AppRegistry, AppState } from "../durable-objects";

/**
 * Deployed sessions reach Kaleyra through connectors placed near its region (their REST calls
 * through remote/index.ts's adapter), and wake closed apps through push services (remote/push).
 */
export class UserSession extends Session {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, connectorRemote(ctx, env, kaleyraRemote(env), { locationHints: true }), wakeSender());
  }
}

/** Deployed connectors hold their users' Socket.IO connections to Kaleyra (remote/index.ts). */
export class KaleyraConnector extends Connector {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, (gate) => kaleyraUpstream(env, gate));
  }
}

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
