/**
 * 1b. Attach with many apps: the same measurement as the attach stage (bench/metrics/attach.mjs:
 * a burst, then attaches one at a time with the burst's sessions held), but client i belongs to
 * app i mod M, so every app's settings are looked up (one AppState call per app and isolate per
 * cache period, docs/architecture.md) and every ticket proof reads its own app's secret. Beside
 * it, in the same stage and interleaved with it, one app and the partyserver peer, so the three
 * figures share the noise.
 */
import { Client, closeAll, openMany, registerApp } from "../lib/kaleyra.mjs";
import { summary } from "../lib/stats.mjs";
import { PeerClient } from "../lib/peer.mjs";
import { measureInterleaved } from "./attach.mjs";

export async function runApps(ctx) {
  const { prod, peer, size, say } = ctx;
  const m = size.appsCount;
  const sizes = { n: size.attachSessions, probes: size.attachProbes, concurrency: size.attachConcurrency };
  say(`apps: registering ${m} apps (admin API and emulator)`);
  const apps = [];
  for (let i = 0; i < m; i++) apps.push(await registerApp(prod, ctx.adminToken, `mAppId_bench_apps_${i}`));
  const single = await registerApp(prod, ctx.adminToken, "mAppId_bench_apps_single");
  // Each app's first attach loads its settings and secret from a cold AppState: measured apart,
  // one at a time, so the comparison below is the steady state (every app already served once).
  const firsts = await openMany(m + 1, 1, (i) => new Client(prod, i < m ? apps[i] : single, `apps-first-${i}`, { connect: false }), { timeoutMs: 60_000 });
  const first = summary(firsts.filter((c) => c.tFirstState !== undefined).map((c) => c.tFirstState - c.tOpenStart));
  say(`apps: first attach of each app: p50 ${first.p50} ms, p99 ${first.p99} ms`);
  await closeAll(firsts, 500);
  const [many, one, partyserver] = await measureInterleaved(
    ctx,
    [
      { label: `kaleyra-edge, ${m} apps`, make: (i) => new Client(prod, apps[i % m], `apps-${i}`, { connect: false }) },
      { label: "kaleyra-edge, 1 app", make: (i) => new Client(prod, single, `apps-one-${i}`, { connect: false }) },
      { label: "partyserver peer", make: (i) => new PeerClient(peer, `apps-${i}`) },
    ],
    sizes,
  );
  return {
    apps: m,
    first_attach_per_app_p50_ms: first.p50,
    first_attach_per_app_p99_ms: first.p99,
    apps_attach_p50_ms: many.probe.latencyMs.p50,
    apps_attach_p99_ms: many.probe.latencyMs.p99,
    apps_attaches_per_second: many.burst.attachesPerSecond,
    one_app_attach_p50_ms: one.probe.latencyMs.p50,
    one_app_attach_p99_ms: one.probe.latencyMs.p99,
    one_app_attaches_per_second: one.burst.attachesPerSecond,
    peer_attach_p50_ms: partyserver.probe.latencyMs.p50,
    peer_attach_p99_ms: partyserver.probe.latencyMs.p99,
    peer_attaches_per_second: partyserver.burst.attachesPerSecond,
    detail: { first, many, one, peer: partyserver },
  };
}
