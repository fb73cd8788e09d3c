/**
 * The local composition (wrangler.local.toml): the orchestrator exactly as deployed, plus the
 * Kaleyra emulator at /emulator/*. Only `npm start` and the tests use it.
 */
import orchestrator from "../worker/index";
import type { Env } from "../worker/env";
import { EMULATOR_OBJECT_NAME } from "../remote/emulator/name";

export { AppRegistry, UserSession } from "../worker/index";
export { KaleyraEmulator } from "./emulator";

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
    return orchestrator.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
