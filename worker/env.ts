/** The Worker's bindings (wrangler.toml, secrets, and test-only bindings from vitest.config.ts). */
import type { AppRegistry } from "../durable-objects/AppRegistry";
import type { AppState } from "../durable-objects/AppState";
import type { UserSession } from "../durable-objects/UserSession";
import type { KaleyraEmulator } from "../dev/emulator/KaleyraEmulator";

export interface Env {
  USER_SESSION: DurableObjectNamespace<UserSession>;
  /** The deployment-wide list of apps, for the admin only. */
  APP_REGISTRY: DurableObjectNamespace<AppRegistry>;
  /** One per app (named by its appId): settings, secrets, slots, rooms, webhooks, tenant keys. */
  APP_STATE: DurableObjectNamespace<AppState>;
  /** Only in the local composition (wrangler.local.toml): the Kaleyra emulator's state and API. */
  KALEYRA_EMULATOR?: DurableObjectNamespace<KaleyraEmulator>;
  /** Bearer token of the admin API. A secret in production; `npm start` passes a local default. */
  ADMIN_TOKEN?: string;
  /** Which remote adapter sessions use: "kaleyra" (production), "emulator" (local), "fake" (unit tests). */
  REMOTE: string;
  /** "1" only in tests: lets a test move a session's clock forward (see durable-objects/clock.ts). */
  TEST_CLOCK?: string;
  /** Attach attempts allowed per client (IPv4 address, IPv6 /64) per minute in one isolate (default 60). */
  ATTACH_LIMIT_PER_MINUTE?: string;
  /** Cloudflare's Rate Limiting binding for attach attempts (wrangler.toml `[[ratelimits]]`); absent locally. */
  ATTACH_RATE_LIMIT?: RateLimit;
  /** "1" only in the local composition: a tenant's token webhook may be http on 127.0.0.1/localhost. */
  ALLOW_LOCAL_WEBHOOKS?: string;
  /** When set (by `npm start`), this app is registered at startup as a sandbox/eu demo app. */
  DEMO_APP_ID?: string;
  /** With DEMO_APP_ID: the demo app's Kaleyra API key, so its sessions get server-side tokens. */
  DEMO_KALEYRA_API_KEY?: string;
}
