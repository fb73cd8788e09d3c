/**
 * 2. Capacity: client sockets held by one local workerd, ramped in steps until the cap or the
 * first failing step, with resident memory per socket from /proc/<pid>/status VmRSS.
 *
 * Each socket is one user's attached client (one session object per socket, the heavier case),
 * attached exactly as in the attach benchmark (ticket proof when the server gates). Under
 * `wrangler dev` a client socket on the public port crosses two workerd processes: wrangler's
 * proxy (4 file descriptors per socket: it dies near 5,000 sockets at a 20,000 limit) and the
 * runtime that runs the Worker and the objects. So the ramp opens its sockets on the runtime's own
 * entry socket (found in /proc), and the figure is the runtime's alone. Memory is read right after the ramp (objects awake) and again after
 * the objects had time to hibernate. The peer (partyserver rooms) is ramped the same way.
 */
import { Client, closeAll, openMany, registerApp } from "../lib/kaleyra.mjs";
import { PeerClient } from "../lib/peer.mjs";
import { openFiles, openFilesLimit, rssKb, sleep } from "../lib/proc.mjs";
import { round } from "../lib/stats.mjs";

const HIBERNATE_WAIT_MS = 13_000;

async function ramp(label, stack, make, { cap, step, concurrency, say }) {
  const entry = await stack.runtimeEntry();
  if (!entry) throw new Error(`${label}: could not find the runtime's entry socket`);
  say(`capacity: ${label}: sockets go straight to the runtime workerd (pid ${stack.runtimePid()}, port ${entry.port}), not through wrangler's proxy`);
  const runtime = stack.runtimePid();
  const proxy = stack.proxyPid();
  await sleep(1_000);
  const base = { runtimeKb: rssKb(runtime), proxyKb: rssKb(proxy), runtimeFds: openFiles(runtime), proxyFds: openFiles(proxy) };
  const clients = [];
  const steps = [];
  let failure;
  while (clients.length < cap) {
    const want = Math.min(step, cap - clients.length);
    const offset = clients.length;
    const batch = await openMany(want, concurrency, (i) => make(entry, offset + i), { timeoutMs: 60_000 });
    clients.push(...batch);
    const failed = batch.filter((c) => c.tFirstState === undefined).length;
    const held = clients.filter((c) => c.tFirstState !== undefined && !c.closed).length;
    await sleep(500);
    if (rssKb(runtime) === undefined) {
      failure = `the runtime workerd exited during the step to ${offset + want} sockets`;
      break;
    }
    const row = { sockets: held, failed, runtimeKb: rssKb(runtime), proxyKb: rssKb(proxy), runtimeFds: openFiles(runtime), proxyFds: openFiles(proxy), nodeFds: openFiles(process.pid) };
    steps.push(row);
    say(`capacity: ${label}: ${held} sockets held, runtime RSS ${round(row.runtimeKb / 1024, 1)} MiB, proxy RSS ${round(row.proxyKb / 1024, 1)} MiB, fds runtime ${row.runtimeFds} proxy ${row.proxyFds}`);
    if (failed > 0) {
      const sample = batch.find((c) => c.tFirstState === undefined);
      failure = `${failed} of ${want} attaches failed in the step to ${offset + want} (e.g. close code ${sample?.closeCode ?? "none"}${sample?.error ? `, ${sample.error}` : ""})`;
      break;
    }
  }
  const last = steps[steps.length - 1];
  // The most sockets held at a step where the runtime still ran.
  const held = last?.sockets ?? 0;
  const logTail = failure ? stack.logTail(15) : undefined;
  let idle;
  if (rssKb(runtime) !== undefined) {
    say(`capacity: ${label}: waiting ${HIBERNATE_WAIT_MS / 1000} s with every socket idle (objects may hibernate)`);
    await sleep(HIBERNATE_WAIT_MS);
    idle = { sockets: clients.filter((c) => c.tFirstState !== undefined && !c.closed).length, runtimeKb: rssKb(runtime), proxyKb: rssKb(proxy), runtimeFds: openFiles(runtime), proxyFds: openFiles(proxy) };
    say(`capacity: ${label}: after the idle wait: ${idle.sockets} sockets, runtime RSS ${round((idle.runtimeKb ?? 0) / 1024, 1)} MiB, fds runtime ${idle.runtimeFds}`);
  }
  await closeAll(clients, 1_000);
  // Least-squares slope of runtime RSS over the steps: kB per added socket, whatever the baseline
  // (a runtime that already served other stages starts with a larger heap).
  const pts = steps.filter((r) => r.runtimeKb !== undefined);
  let slope;
  if (pts.length >= 2) {
    const mx = pts.reduce((a, r) => a + r.sockets, 0) / pts.length;
    const my = pts.reduce((a, r) => a + r.runtimeKb, 0) / pts.length;
    const sxy = pts.reduce((a, r) => a + (r.sockets - mx) * (r.runtimeKb - my), 0);
    const sxx = pts.reduce((a, r) => a + (r.sockets - mx) ** 2, 0);
    slope = sxx > 0 ? round(sxy / sxx, 1) : undefined;
  }
  const perSocket = (kb, b) => (held > 0 && kb !== undefined && b !== undefined ? round((kb - b) / held, 1) : undefined);
  return {
    cap,
    maxSockets: held,
    reachedCap: held >= cap,
    failure: failure ?? (held >= cap ? undefined : "stopped below the cap"),
    baseline: base,
    steps,
    idleAfterMs: HIBERNATE_WAIT_MS,
    idle,
    runtimeKbPerSocket: slope,
    runtimeKbPerSocketFromBaseline: perSocket(last?.runtimeKb, base.runtimeKb),
    runtimeKbPerSocketIdle: idle ? perSocket(idle.runtimeKb, base.runtimeKb) : undefined,
    runtimeFdsPerSocket: held > 0 && last?.runtimeFds !== undefined ? round((last.runtimeFds - base.runtimeFds) / held, 2) : undefined,
    fdLimit: { runtime: openFilesLimit(runtime), proxy: openFilesLimit(proxy), node: openFilesLimit() },
    logTail,
  };
}

export async function runCapacity(ctx) {
  const { prod, peer, size, say } = ctx;
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_capacity");
  const opts = { cap: size.capacityCap, step: size.capacityStep, concurrency: size.attachConcurrency, say };
  say(`capacity: ramping to ${opts.cap} sockets in steps of ${opts.step} (one session object per socket)`);
  const product = await ramp("kaleyra-edge", prod, (entry, i) => new Client(entry, app, `cap-${i}`, { connect: false }), opts);
  const partyserver = await ramp("partyserver peer", peer, (entry, i) => new PeerClient(entry, `cap-${i}`), opts);
  return {
    max_sockets: product.maxSockets,
    rss_per_socket_kb: product.runtimeKbPerSocket,
    rss_per_socket_kb_idle: product.runtimeKbPerSocketIdle,
    peer_max_sockets: partyserver.maxSockets,
    peer_rss_per_socket_kb: partyserver.runtimeKbPerSocket,
    peer_rss_per_socket_kb_idle: partyserver.runtimeKbPerSocketIdle,
    detail: { product, peer: partyserver },
  };
}
