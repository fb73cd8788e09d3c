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
 * its own wrangler dev, measured the same way and interleaved with ours (measureInterleaved), so
 * both see the same background load.
 */
import { Client, closeAll, openMany, registerApp } from "../lib/kaleyra.mjs";
import { PeerClient } from "../lib/peer.mjs";
import { sleep } from "../lib/proc.mjs";
import { round, summary } from "../lib/stats.mjs";

/**
 * Burst then probes for several kinds of client ("sides") at once, interleaved so they share the
 * machine's noise (other processes on these 2 cores come and go within seconds): the burst runs in
 * `rounds` slices, each side's slice in turn, and the probes alternate one attach per side. Every
 * side's sockets stay open until the end. `make(i)` builds client i of a side.
 * Exported for the many-apps stage (bench/metrics/apps.mjs).
 */
export async function measureInterleaved(ctx, sides, { n, probes, concurrency, rounds = 5 }) {
  const { say } = ctx;
  const held = sides.map(() => []);
  const wall = sides.map(() => 0);
  const slice = Math.ceil(n / rounds);
  say(`attach: ${sides.map((x) => x.label).join(" | ")}: burst of ${n} sockets each, ${concurrency} in flight, in ${rounds} interleaved slices`);
  for (let r = 0; r < rounds; r++) {
    for (const [k, side] of sides.entries()) {
      const from = r * slice;
      const count = Math.min(slice, n - from);
      if (count <= 0) continue;
      const t0 = Date.now();
      held[k].push(...(await openMany(count, concurrency, (i) => side.make(from + i), { timeoutMs: 180_000 })));
      wall[k] += Date.now() - t0;
    }
  }
  await sleep(1_000);
  const probed = sides.map(() => []);
  for (let i = 0; i < probes; i++) {
    for (const [k, side] of sides.entries()) probed[k].push(...(await openMany(1, 1, () => side.make(n + i), { timeoutMs: 20_000 })));
  }
  const results = sides.map((side, k) => {
    const ok = held[k].filter((c) => c.tFirstState !== undefined);
    const pok = probed[k].filter((c) => c.tFirstState !== undefined);
    const burst = { sessions: n, attached: ok.length, failed: n - ok.length, concurrency, rounds, wallMs: wall[k], attachesPerSecond: round((ok.length * 1000) / wall[k], 1), latencyMs: summary(ok.map((c) => c.tFirstState - c.tOpenStart)), firstFrameMs: summary(ok.map((c) => c.tFirstFrame - c.tOpenStart)) };
    const probe = { heldSessions: ok.length, attaches: probes, attached: pok.length, latencyMs: summary(pok.map((c) => c.tFirstState - c.tOpenStart)), firstFrameMs: summary(pok.map((c) => c.tFirstFrame - c.tOpenStart)) };
    say(`attach: ${side.label}: burst ${burst.attachesPerSecond} attaches/s (p99 ${burst.latencyMs.p99} ms); one at a time with ${ok.length} held: p50 ${probe.latencyMs.p50} ms, p99 ${probe.latencyMs.p99} ms`);
    return { gated: held[k].some((c) => c.gated), probe, burst };
  });
  await closeAll([...held.flat(), ...probed.flat()], 1_000);
  return results;
}

export async function runAttach(ctx) {
  const { prod, peer, size } = ctx;
  const sizes = { n: size.attachSessions, probes: size.attachProbes, concurrency: size.attachConcurrency };
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_attach");
  const [product, partyserver] = await measureInterleaved(
    ctx,
    [
      { label: "kaleyra-edge", make: (i) => new Client(prod, app, `attach-${i}`, { connect: false }) },
      { label: "partyserver peer", make: (i) => new PeerClient(peer, `attach-${i}`) },
    ],
    sizes,
  );
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
