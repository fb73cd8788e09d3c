/**
 * The remote a session of the local composition uses, named by the REMOTE binding:
 * - "emulator" (the default of `npm start`): the production adapter against the emulator Durable
 *   Object, in-process (requests never leave the process);
 * - "kaleyra": the production adapter at Kaleyra's addresses, or an app's own (docs/remote.md).
 */
import type { Remote } from "../core/port";
import { KaleyraAdapter } from "../remote/kaleyra";
import { kaleyraRemote } from "../remote";
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

/** The production adapter against the local emulator Durable Object. */
function emulatorRemote(env: DevEnv): Remote {
  const namespace = env.KALEYRA_EMULATOR;
  if (!namespace) throw new Error('REMOTE "emulator" needs the KALEYRA_EMULATOR binding (wrangler.local.toml)');
  const stub = namespace.get(namespace.idFromName(EMULATOR_OBJECT_NAME));
  const fetch = (request: Request) => stub.fetch(request);
  // The stub's fetch ignores the host: the loopback base only satisfies the realtime URL rules.
  return new KaleyraAdapter({ baseUrl: EMULATOR_BASE_URL, fetch, realtime: { fetch, baseUrl: () => EMULATOR_REALTIME_BASE, allowLocal: true } });
}
