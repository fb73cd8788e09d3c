/** The local composition's bindings (wrangler.local.toml, `npm start`'s vars): the production ones and the dev-only ones. */
import type { Env } from "../durable-objects/bindings";
import type { KaleyraEmulator } from "./emulator/KaleyraEmulator";
import type { LocalPush } from "./local-push";

export interface DevEnv extends Env {
  /** The Kaleyra emulator's state and API. */
  KALEYRA_EMULATOR?: DurableObjectNamespace<KaleyraEmulator>;
  /** The local Web Push service (dev/local-push.ts): wakes reach it in process. */
  LOCAL_PUSH?: DurableObjectNamespace<LocalPush>;
  /** Which remote the sessions use (dev/remote.ts): "emulator" (the default) or "kaleyra"; the tests' composition also knows "fake". */
  REMOTE: string;
  /** When set (by `npm start`), this app is registered as a sandbox/eu demo app (dev/demo/seed.ts). */
  DEMO_APP_ID?: string;
  /** With DEMO_APP_ID: the demo app's Kaleyra API key, so its sessions get server-side tokens. */
  DEMO_KALEYRA_API_KEY?: string;
  /** The demo page's static files (wrangler.local.toml `[assets]`). */
  ASSETS?: Fetcher;
}
