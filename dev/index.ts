/**
 * The local composition (wrangler.local.toml): the orchestrator exactly as deployed, plus the
 * Kaleyra emulator at /emulator/*, plus (when `npm start` sets DEMO_APP_ID) the demo page at `/`
 * and its backend at /demo/* (dev/demo/routes.ts, docs/demo.md), plus a local Web Push service at
 * /push/* and /push-control/* (dev/local-push.ts), which the sessions' wakes reach in process, plus
 * the connectors' control at /dev/connectors (dev/connectors.ts). Only
 * `npm start` and the tests use it; the tests set no DEMO_APP_ID, so they see the orchestrator's
 * own answers everywhere else.
 */
import orchestrator from "../worker/index";
import { connectorRemote, UserSession as Session } from "../durable-objects";
import { EMULATOR_OBJECT_NAME } from "./emulator/name";
import type { DevEnv } from "./bindings";
import { CONNECTORS_PREFIX, connectorsControl, LocalConnector } from "./connectors";
import { demo } from "./demo/routes";
import { ensureDemoApp } from "./demo/seed";
import { localRemote, localUpstream } from "./remote";
import { LOCAL_PUSH_OBJECT, localPushFetch } from "./local-push";
import { wakeSender } from "../remote/push";

export { AppRegistry, AppState } from "../worker/index";
export { KaleyraEmulator } from "./local-emulator";
export { LocalPush } from "./local-push";

/**
 * Local sessions reach the emulator, or Kaleyra with `REMOTE=kaleyra` (dev/remote.ts), through
 * connectors as deployed (with no location hint for the emulator), and push to the local push
 * service in process (any other push service as deployed).
 */
export class UserSession extends Session {
  constructor(ctx: DurableObjectState, env: DevEnv) {
    super(ctx, env, connectorRemote(ctx, env, localRemote(env), { locationHints: env.REMOTE === "kaleyra" }), wakeSender(localPushFetch(env)));
  }
}

/** Local connectors hold their users' connections to the emulator, or to Kaleyra (dev/remote.ts); the dev control may restart one. */
export class KaleyraConnector extends LocalConnector {
  constructor(ctx: DurableObjectState, env: DevEnv) {
    super(ctx, env, (gate) => localUpstream(env, gate));
  }
}

const EMULATOR_PREFIX = "/emulator";

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === EMULATOR_PREFIX || url.pathname.startsWith(`${EMULATOR_PREFIX}/`)) {
      if (!env.KALEYRA_EMULATOR) return new Response("no emulator bound", { status: 404 });
      url.pathname = url.pathname.slice(EMULATOR_PREFIX.length) || "/";
      const emulator = env.KALEYRA_EMULATOR.get(env.KALEYRA_EMULATOR.idFromName(EMULATOR_OBJECT_NAME));
      return emulator.fetch(new Request(url, request));
    }
    if (url.pathname === CONNECTORS_PREFIX || url.pathname.startsWith(`${CONNECTORS_PREFIX}/`)) return connectorsControl(request, env);
    if ((url.pathname.startsWith("/push/") || url.pathname.startsWith("/push-control/")) && env.LOCAL_PUSH) {
      return env.LOCAL_PUSH.get(env.LOCAL_PUSH.idFromName(LOCAL_PUSH_OBJECT)).fetch(request);
    }
    if (env.DEMO_APP_ID) {
      await ensureDemoApp(env);
      const answer = await demo(request, env);
      if (answer) return answer;
    }
    return orchestrator.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<DevEnv>;
