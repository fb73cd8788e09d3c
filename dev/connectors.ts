/**
 * The connectors' local control, under /dev/connectors (the local composition only: production
 * never routes here, and only the local compositions' connector class, LocalConnector below, can
 * be restarted). For the bench, the reliability scripts and the demo's curious reader:
 * - `GET /dev/connectors?environment=&region=&pool=` the counts of every shard that was used
 *   (core/connector.ts names them; `pool` is "shared" or an appId with its own pool): every base
 *   shard, and the overflow shards up to the first one never asked to open anything (overflow
 *   shards fill in order). Asking wakes the connector asked: an unused one, at most one, stays in
 *   memory about 10 s;
 * - `POST /dev/connectors/restart { environment, region, pool?, shard }` restarts one connector
 *   as a deploy or a crash would: its sockets die; its storage and alarm stay.
 */
import { isAppId } from "../core/app";
import { connectorConfig, connectorName, type PoolKey } from "../core/connector";
import { KaleyraConnector } from "../durable-objects/connector/KaleyraConnector";
import { kaleyraConnector } from "../durable-objects/stubs";
import type { DevEnv } from "./bindings";

export const CONNECTORS_PREFIX = "/dev/connectors";

/** The connector of the local compositions (dev/index.ts, test/worker.ts): the deployed one, plus a restart. */
export class LocalConnector extends KaleyraConnector {
  /** Restarts this connector as a deploy or a crash would: every socket it holds dies; its storage and alarm stay. */
  restartForTest(): void {
    this.ctx.abort("restarted by the dev control");
  }
}

export async function connectorsControl(request: Request, env: DevEnv): Promise<Response> {
  const url = new URL(request.url);
  if (request.method === "GET" && url.pathname === CONNECTORS_PREFIX) {
    const pool = poolOf(Object.fromEntries(url.searchParams));
    if (!pool) return json(400, { error: "bad_request", message: "environment (production|sandbox), region (eu|in|us|me) and pool (shared or an appId) are required" });
    const shards = [];
    const { baseShards, maxShards } = connectorConfig(env).config;
    for (let shard = 0; shard < maxShards; shard++) {
      const name = connectorName(pool, shard);
      const stats = await stub(env, name).stats();
      const used = stats.opens.asked > 0 || stats.held > 0 || stats.orphansReported > 0;
      if (used) shards.push({ shard, name, ...stats });
      else if (shard >= baseShards) break;
    }
    return json(200, { shards });
  }
  if (request.method === "POST" && url.pathname === `${CONNECTORS_PREFIX}/restart`) {
    const body = (await request.json().catch(() => null)) as Record<string, unknown> | null;
    const pool = body ? poolOf(body) : undefined;
    const shard = body?.shard;
    if (!pool || typeof shard !== "number" || !Number.isInteger(shard) || shard < 0) return json(400, { error: "bad_request", message: "environment, region, pool? and shard (an integer) are required" });
    const name = connectorName(pool, shard);
    // The restart aborts the object under the call: the call itself fails, by design.
    await stub(env, name).restartForTest().catch(() => {});
    return json(200, { restarted: name });
  }
  return json(404, { error: "not_found", message: `nothing at ${request.method} ${url.pathname}` });
}

function poolOf(o: Record<string, unknown>): PoolKey | undefined {
  const { environment, region } = o;
  const pool = o.pool ?? "shared";
  if ((environment !== "production" && environment !== "sandbox") || !["eu", "in", "us", "me"].includes(region as string)) return undefined;
  if (pool !== "shared" && !isAppId(pool)) return undefined;
  return { environment, region: region as PoolKey["region"], ...(pool === "shared" ? {} : { app: pool as string }) };
}

/** Connectors of the local composition are LocalConnectors (dev/bindings.ts). */
function stub(env: DevEnv, name: string) {
  return kaleyraConnector(env, name) as DurableObjectStub<LocalConnector>;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
