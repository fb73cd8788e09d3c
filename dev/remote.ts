/**
 * The adapters of the local composition, named by the REMOTE binding, for its sessions (REST: the
 * connectors hold their connections) and for its connectors (the users' Socket.IO connections):
 * - "emulator" (the default of `npm start`): the production adapter against the emulator Durable
 *   Object, in-process (requests never leave the process);
 * - "kaleyra": the production adapter at Kaleyra's addresses, or an app's own (docs/remote.md).
 */
import type { KaleyraRemote, Remote } from "../core/port";
import { KaleyraAdapter } from "../remote/kaleyra";
import { kaleyraRemote, kaleyraUpstream } from "../remote";
import type { SocketFetch } from "../remote/realtime";
import { EMULATOR_OBJECT_NAME } from "./emulator/name";
import type { DevEnv } from "./bindings";

/** The base URL the "emulator" remote uses; requests never leave the process. */
export const EMULATOR_BASE_URL = "http://emulator.local";
const EMULATOR_REALTIME_BASE = "http://127.0.0.1";

export function localRemote(env: DevEnv): Remote {
  switch (env.REMOTE) {
    case "kaleyra":
      return kaleyraRemote(env);
    case "emulator":
      return emulatorRemote(env);
    default:
      throw new Error(`REMOTE must be "emulator" or "kaleyra" (got ${JSON.stringify(env.REMOTE)})`);
  }
}

/** A connector's adapter: its upgrades through `gate` (the connector's handshake gate). */
export function localUpstream(env: DevEnv, gate: (fetch: SocketFetch) => SocketFetch): KaleyraRemote {
  switch (env.REMOTE) {
    case "kaleyra":
      return kaleyraUpstream(env, gate);
    case "emulator":
      return emulatorRemote(env, gate);
    default:
      throw new Error(`REMOTE must be "emulator" or "kaleyra" (got ${JSON.stringify(env.REMOTE)})`);
  }
}

/** The production adapter against the local emulator Durable Object (its upgrades through `gate`, for a connector). */
function emulatorRemote(env: DevEnv, gate: (fetch: SocketFetch) => SocketFetch = (f) => f): Remote {
  const namespace = env.KALEYRA_EMULATOR;
  if (!namespace) throw new Error('REMOTE "emulator" needs the KALEYRA_EMULATOR binding (wrangler.local.toml)');
  const stub = namespace.get(namespace.idFromName(EMULATOR_OBJECT_NAME));
  const fetch = (request: Request) => stub.fetch(request);
  // The stub's fetch ignores the host: the loopback base only satisfies the realtime URL rules.
  return new KaleyraAdapter({ baseUrl: EMULATOR_BASE_URL, fetch, realtime: { fetch: gate(fetch), baseUrl: () => EMULATOR_REALTIME_BASE, allowLocal: true } });
}
