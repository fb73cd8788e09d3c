/**
 * Picks the remote adapter named by the REMOTE binding:
 * - "fake": in-process fake (remote/fake.ts);
 * - "kaleyra": the production adapter at Kaleyra's addresses (remote/kaleyra.ts);
 * - "emulator": the production adapter against the local emulator Durable Object (local only).
 */
import type { Env } from "../worker/env";
import { EMULATOR_OBJECT_NAME } from "./emulator/name";
import { FakeRemote } from "./fake";
import { KaleyraAdapter } from "./kaleyra";
import type { Remote } from "../core/port";

/** The base URL the "emulator" remote uses; requests never leave the process. */
export const EMULATOR_BASE_URL = "http://emulator.local";
export const EMULATOR_REALTIME_BASE = "http://127.0.0.1";

export type RemoteEnv = Pick<Env, "REMOTE" | "KALEYRA_EMULATOR" | "ALLOW_LOCAL_WEBHOOKS">;

export function createRemote(env: RemoteEnv): Remote {
  switch (env.REMOTE) {
    case "fake":
      return new FakeRemote();
    case "kaleyra":
      // Production addresses, or an app's own (AppSettings.kaleyra); loopback only where allowed.
      return new KaleyraAdapter({ realtime: { allowLocal: env.ALLOW_LOCAL_WEBHOOKS === "1" } });
    case "emulator": {
      const namespace = env.KALEYRA_EMULATOR;
      if (!namespace) throw new Error('REMOTE "emulator" needs the KALEYRA_EMULATOR binding (wrangler.local.toml)');
      const stub = namespace.get(namespace.idFromName(EMULATOR_OBJECT_NAME));
      const fetch = (request: Request) => stub.fetch(request);
      // The stub's fetch ignores the host: the loopback base only satisfies the realtime URL rules.
      return new KaleyraAdapter({ baseUrl: EMULATOR_BASE_URL, fetch, realtime: { fetch, baseUrl: () => EMULATOR_REALTIME_BASE, allowLocal: true } });
    }
    default:
      throw new Error(`REMOTE must be "fake", "kaleyra" or "emulator" (got ${JSON.stringify(env.REMOTE)})`);
  }
}
