/**
 * 1. Attach latency: from creating the client socket (TCP connect, WebSocket handshake through
 * wrangler's proxy, the Worker's registry lookup, the session object) to the first `state` frame.
 * When the server gates token sessions (an `auth_required` first frame), the client answers with a
 * tenant-signed ticket and the figure includes that round trip; the first frame of any kind is
 * reported too. One user, so one session object, per socket.
 *
 * Two phases: a burst opens N sockets with a fixed number of attaches in flight (latency there is
 * mostly queueing: it gives the attach throughput), and all N stay open; then, with the N sessions
 * held, P more sockets attach one at a time: that latency is the headline (attach_p50_ms,
 * attach_p99_ms).
 * Peer: a partyserver room per socket (hibernating, sends one state-sized frame on connect) on
 * its own wrangler dev, measured the same way.
 */
import { Client, closeAll, openMany, registerApp } from "../lib/kaleyra.mjs";
import { PeerClient } from "../lib/peer.mjs";
import { sleep } from "../lib/proc.mjs";
import { round, summary } from "../lib/stats.mjs";

/**
 * Burst then probes for one kind of client (see the module comment); `make(i)` builds client i.
 * Exported for the many-apps stage (bench/metrics/apps.mjs), which measures the same way.
 */
export async function measureAttach(ctx, label, make, { n, probes, concurrency }) {
  const { say } = ctx;
  say(`attach: ${label}: burst: opening ${n} sockets, ${concurrency} attaches in flight`);
  const t0 = Date.now();
  const held = await openMany(n, concurrency, make, { timeoutMs: 180_000, progress: { every: Math.max(100, Math.floor(n / 4)), say: (d) => say(`attach: ${label}: ${d}/${n}`) } });
  const wall = Date.now() - t0;
  const ok = held.filter((c) => c.tFirstState !== undefined);
  const burst = { sessions: n, attached: ok.length, failed: n - ok.length, concurrency, wallMs: wall, attachesPerSecond: round((ok.length * 1000) / wall, 1), latencyMs: summary(ok.map((c) => c.tFirstState - c.tOpenStart)), firstFrameMs: summary(ok.map((c) => c.tFirstFrame - c.tOpenStart)) };
  say(`attach: ${label}: burst p50 ${burst.latencyMs.p50} ms, p99 ${burst.latencyMs.p99} ms, ${burst.attachesPerSecond} attaches/s; now ${probes} attaches one at a time with ${ok.length} sessions held`);
  await sleep(1_000);
  const probeClients = await openMany(probes, 1, (i) => make(n + i), { timeoutMs: 120_000 });
  const pok = probeClients.filter((c) => c.tFirstState !== undefined);
  const probe = { heldSessions: ok.length, attaches: probes, attached: pok.length, latencyMs: summary(pok.map((c) => c.tFirstState - c.tOpenStart)), firstFrameMs: summary(pok.map((c) => c.tFirstFrame - c.tOpenStart)) };
  say(`attach: ${label}: with ${ok.length} held: p50 ${probe.latencyMs.p50} ms, p99 ${probe.latencyMs.p99} ms`);
  await closeAll([...held, ...probeClients], 1_000);
  return { gated: held.some((c) => c.gated), probe, burst };
}

export async function runAttach(ctx) {
  const { prod, peer, size } = ctx;
  const sizes = { n: size.attachSessions, probes: size.attachProbes, concurrency: size.attachConcurrency };
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_attach");
  const product = await measureAttach(ctx, "kaleyra-edge", (i) => new Client(prod, app, `attach-${i}`, { connect: false }), sizes);
  const partyserver = await measureAttach(ctx, "partyserver peer", (i) => new PeerClient(peer, `attach-${i}`), sizes);
  return {
    attach_p50_ms: product.probe.latencyMs.p50,
    attach_p99_ms: product.probe.latencyMs.p99,
    peer_attach_p50_ms: partyserver.probe.latencyMs.p50,
    peer_attach_p99_ms: partyserver.probe.latencyMs.p99,
    attach_burst_p50_ms: product.burst.latencyMs.p50,
    attach_burst_p99_ms: product.burst.latencyMs.p99,
    peer_attach_burst_p99_ms: partyserver.burst.latencyMs.p99,
    attaches_per_second: product.burst.attachesPerSecond,
    peer_attaches_per_second: partyserver.burst.attachesPerSecond,
    detail: { product, peer: partyserver },
  };
}
