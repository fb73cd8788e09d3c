/**
 * The production bindings (wrangler.toml and its secrets), as every layer from the objects up sees
 * them. The local composition extends them under dev/ (dev/bindings.ts: the emulator, the demo);
 * nothing here names anything of dev/.
 */
import type { AppRegistry } from "./AppRegistry";
import type { AppState } from "./AppState";
import type { UserSession } from "./UserSession";
import type { KaleyraConnector } from "./connector/KaleyraConnector";

export interface Env {
  USER_SESSION: DurableObjectNamespace<UserSession>;
  /** The deployment-wide list of apps, for the admin only. */
  APP_REGISTRY: DurableObjectNamespace<AppRegistry>;
  /** One per app (named by its appId): settings, secrets, slots, rooms, webhooks, tenant keys. */
  APP_STATE: DurableObjectNamespace<AppState>;
  /** Connectors: the Kaleyra connections of many users each (durable-objects/connector/). */
  KALEYRA_CONNECTOR: DurableObjectNamespace<KaleyraConnector>;
  /** Connector pool sizing (core/connector.ts); absent: the defaults there. */
  CONNECTOR_BASE_SHARDS?: string;
  CONNECTOR_MAX_SHARDS?: string;
  CONNECTOR_MAX_SOCKETS?: string;
  CONNECTOR_MAX_HANDSHAKES?: string;
  CONNECTOR_MAX_QUEUED?: string;
  /** Bearer token of the admin API. A secret in production; `npm start` passes a local default. */
  ADMIN_TOKEN?: string;
  /** "1" only in tests: lets a test move a session's clock forward (see durable-objects/clock.ts). */
  TEST_CLOCK?: string;
  /** Attach attempts allowed per client (IPv4 address, IPv6 /64) per minute in one isolate (default 60). */
  ATTACH_LIMIT_PER_MINUTE?: string;
  /** Cloudflare's Rate Limiting binding for attach attempts (wrangler.toml `[[ratelimits]]`); absent locally. */
  ATTACH_RATE_LIMIT?: RateLimit;
  /** "1" only in the local composition: a tenant's token webhook may be http on 127.0.0.1/localhost. */
  ALLOW_LOCAL_WEBHOOKS?: string;
}
