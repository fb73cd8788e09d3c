/**
 * Where a user's Kaleyra connection lives (docs/architecture.md "Sessions and connectors"): the
 * rules that pick a connector object for a session. Pure: no Workers APIs.
 *
 * - A pool is per Kaleyra (environment, region), shared by every app of the deployment, or one
 *   app's own pool when the app asks for it (`upstream.pool: "own"`).
 * - A pool has `baseShards` connectors that a user maps to by a stable hash of (appId, user or
 *   link digest); a connector that is full (`maxSockets` held or opening) sends the open on to the
 *   overflow shards `baseShards .. maxShards-1`, in order. So with the default (1 base shard) the
 *   pool fills one connector at a time, and grows by itself up to `maxShards` connectors.
 * - A connection's id names its connector (`<connector name>/<uuid>`), and the session keeps that
 *   id: changing the pool's settings never moves a live connection, it only changes where new
 *   connections go.
 */
import type { Environment, Region } from "./app";

export interface ConnectorConfig {
  /** Connectors a user is hashed over (raise it to spread the event load of a busy pool). */
  baseShards: number;
  /** The pool's ceiling: base shards plus the overflow shards used when the base ones are full. */
  maxShards: number;
  /** Sockets (held plus opening) one connector takes before it answers `connector_full`. */
  maxSockets: number;
  /** Upgrade requests one connector has in flight at once; the rest wait in its queue. */
  maxHandshakes: number;
  /** Opens one connector keeps waiting for a handshake slot; past that it answers `connector_busy`. */
  maxQueued: number;
}

/**
 * Below every open question of docs/architecture.md: 1,000 sockets per connector (the local probe
 * held 9,500; if the ~85 kB per socket counts toward 128 MB the ceiling is about 1,200), and 4
 * upgrades in flight (a Worker invocation may have 6 connections waiting for response headers).
 */
export const DEFAULT_CONNECTOR_CONFIG: ConnectorConfig = { baseShards: 1, maxShards: 16, maxSockets: 1_000, maxHandshakes: 4, maxQueued: 2_000 };

/** Hard bounds a deployment's vars must stay within (a bad var falls back to the default). */
const BOUNDS: Record<keyof ConnectorConfig, [number, number]> = {
  baseShards: [1, 256],
  maxShards: [1, 1_024],
  maxSockets: [1, 20_000],
  maxHandshakes: [1, 6],
  maxQueued: [0, 100_000],
};

/** The wrangler vars that set the config (all optional strings). */
export interface ConnectorVars {
  CONNECTOR_BASE_SHARDS?: string;
  CONNECTOR_MAX_SHARDS?: string;
  CONNECTOR_MAX_SOCKETS?: string;
  CONNECTOR_MAX_HANDSHAKES?: string;
  CONNECTOR_MAX_QUEUED?: string;
}

const VAR_OF: Record<keyof ConnectorConfig, keyof ConnectorVars> = {
  baseShards: "CONNECTOR_BASE_SHARDS",
  maxShards: "CONNECTOR_MAX_SHARDS",
  maxSockets: "CONNECTOR_MAX_SOCKETS",
  maxHandshakes: "CONNECTOR_MAX_HANDSHAKES",
  maxQueued: "CONNECTOR_MAX_QUEUED",
};

/** The config from the vars; `invalid` names the vars that were ignored (not an integer in bounds). */
export function connectorConfig(vars: ConnectorVars): { config: ConnectorConfig; invalid: string[] } {
  const config = { ...DEFAULT_CONNECTOR_CONFIG };
  const invalid: string[] = [];
  for (const key of Object.keys(BOUNDS) as (keyof ConnectorConfig)[]) {
    const raw = vars[VAR_OF[key]];
    if (raw === undefined || raw === "") continue;
    const n = Number(raw);
    const [min, max] = BOUNDS[key];
    if (Number.isInteger(n) && n >= min && n <= max) config[key] = n;
    else invalid.push(VAR_OF[key]);
  }
  if (config.maxShards < config.baseShards) {
    invalid.push(VAR_OF.maxShards);
    config.maxShards = config.baseShards;
  }
  return { config, invalid };
}

/** The pool a session's connection goes to. `app` is the appId of an app with its own pool. */
export interface PoolKey {
  environment: Environment;
  region: Region;
  app?: string;
}

/** A connector's name, for `idFromName`: stable, and readable in logs. */
export function connectorName(pool: PoolKey, shard: number): string {
  return `kc.${pool.environment}.${pool.region}.${pool.app ?? "shared"}.${shard}`;
}

const NAME = /^kc\.(production|sandbox)\.(eu|in|us|me)\.(shared|mAppId_[A-Za-z0-9_-]{1,64})\.(\d{1,4})$/;

/** The connector that holds a connection, read from the connection's id; undefined for another id. */
export function connectorOfConnection(connectionId: string): string | undefined {
  const slash = connectionId.indexOf("/");
  const name = slash < 0 ? "" : connectionId.slice(0, slash);
  return NAME.test(name) ? name : undefined;
}

export function connectionId(connector: string, uuid: string): string {
  return `${connector}/${uuid}`;
}

/** FNV-1a, 32 bits, over the UTF-16 code units: stable across runtimes and deploys. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The key a user is hashed by: the same user of the same app always lands on the same shard. */
export function shardKey(appId: string, user: { userId: string } | { linkDigest: string }): string {
  return "userId" in user ? `${appId}\nu\n${user.userId}` : `${appId}\nl\n${user.linkDigest}`;
}

/**
 * The shards to try, in order: the user's base shard, then every overflow shard. Distinct, at most
 * `maxShards` long.
 */
export function shardOrder(hash: number, config: Pick<ConnectorConfig, "baseShards" | "maxShards">): number[] {
  const order = [hash % config.baseShards];
  for (let s = config.baseShards; s < config.maxShards; s++) order.push(s);
  return order;
}

/** Where Kaleyra's regions are served from, as Durable Object location hints. */
export const LOCATION_HINTS: Record<Region, string> = { eu: "weur", in: "apac", us: "enam", me: "me" };
