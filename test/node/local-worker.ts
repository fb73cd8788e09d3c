/**
 * The local composition (wrangler.local.toml) served in Node by wrangler's programmatic dev server,
 * for `*.node.test.ts` files that need the Worker over HTTP: a free loopback port, no persistence,
 * no file watching, startup bounded. Offline: no Request.cf download, no metrics.
 */
import { unstable_startWorker } from "wrangler";

const STARTUP_LIMIT_MS = 25_000;

export interface LocalWorker {
  /** e.g. http://127.0.0.1:41234, without a trailing slash. */
  base: string;
  dispose(): Promise<void>;
}

/** `vars`: bindings over wrangler.local.toml's (REMOTE, ADMIN_TOKEN, ...). */
export async function startLocalWorker(vars: Record<string, string> = {}): Promise<LocalWorker> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  process.env.WRANGLER_SEND_METRICS = "false";
  const bindings = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text" as const, value }]));
  const started = unstable_startWorker({
    config: "wrangler.local.toml",
    bindings,
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, persist: false, logLevel: "warn" },
  });
  let limit: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    limit = setTimeout(() => reject(new Error(`the local worker did not start within ${STARTUP_LIMIT_MS} ms`)), STARTUP_LIMIT_MS);
  });
  try {
    const worker = await Promise.race([started, timeout]);
    await Promise.race([worker.ready, timeout]);
    return { base: String(await Promise.race([worker.url, timeout])).replace(/\/$/, ""), dispose: () => worker.dispose() };
  } finally {
    clearTimeout(limit);
  }
}
