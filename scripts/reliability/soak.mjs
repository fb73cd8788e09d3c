#!/usr/bin/env node
/**
 * Soak: N sessions on a time-scaled retry policy against the local stack (wrangler dev with the
 * Kaleyra emulator), for a simulated duration, with periodic emulator outages and short token
 * lifetimes (so every session refreshes many times, and refreshes that fall in an outage fail and
 * run the reconnect schedule).
 *
 *   npm run soak              # full: 1,000 sessions, 30 simulated minutes (time scale 10: 3 min)
 *   npm run soak:quick        # CI: 100 sessions, 20 simulated minutes (time scale 20: 60 s)
 *   options: --sessions N --minutes M --scale K --lifetime SEC --out FILE
 *
 * Clients are real WebSockets from this process. Each one proves its user with an attach ticket,
 * connects, and answers every token_request like an app's provider: it asks the emulator for a
 * token (POST /emulator/v2/sdk/credentials) and answers `token`, or `token_failed` when that
 * fails (during an outage the provider's backend fails too).
 *
 * Reports (stdout and test-artifacts/soak.json):
 *   lost sessions      sessions not connected once the last outage ended and the schedule had time
 *                      to run (goal 0), and sessions that ever fell to `disconnected` (goal 0);
 *   duplicate connects transitions into `connected` beyond 1 + the times the session left it (goal 0);
 *   token requests     distinct request ids against the cycles seen (a cycle asks 1..3 times), the
 *                      same request delivered twice to one client (goal 0), and against the
 *                      no-outage expectation (one per connect and per refresh);
 *   memory             RSS of the workerd processes at start, at end and the peak (from /proc).
 * Exit code 1 when a goal is missed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { attachTicket, Client } from "./client.mjs";
import { ROOT, sleep, Stack } from "./lib.mjs";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const FULL = process.argv.includes("--full");
const N = Number(arg("sessions", FULL ? 1_000 : 100));
const SIM_MINUTES = Number(arg("minutes", FULL ? 30 : 20));
const SCALE = Number(arg("scale", FULL ? 10 : 20));
/** Real seconds every minted token lives (emulator fault tokenLifetimeSec); refresh at half of it. */
const LIFETIME_SEC = Number(arg("lifetime", FULL ? 60 : 20));
const OUT = arg("out", join(ROOT, "test-artifacts", "soak.json"));

/** The seed's default schedule, divided by the time scale (simulated time runs SCALE times faster). */
const scaled = (ms) => Math.max(1, Math.round(ms / SCALE));
const POLICY = {
  tokenAttemptDelaysMs: [0, 1_000, 4_000].map(scaled).map((v, i) => (i === 0 ? 0 : v)),
  tokenAttemptTimeoutMs: scaled(15_000),
  reconnectDelaysMs: [0, 3_000, 9_000, 27_000, 60_000, 120_000].map(scaled).map((v, i) => (i === 0 ? 0 : v)),
  reconnectSteadyDelayMs: scaled(60_000),
  jitterMaxMs: scaled(2_000),
};
const RUN_MS = (SIM_MINUTES * 60_000) / SCALE;
/** Outages: every 6 simulated minutes, one of 1 simulated minute; none in the last 25% of the run. */
const OUTAGES = [];
for (let start = scaled(3 * 60_000); start + scaled(60_000) < RUN_MS * 0.75; start += scaled(6 * 60_000)) OUTAGES.push([start, start + scaled(60_000)]);
/** After the last outage: the longest a session can wait (steady + jitter) plus a full token cycle, twice. */
const SETTLE_MS = 2 * (POLICY.reconnectSteadyDelayMs + POLICY.jitterMaxMs + 3 * POLICY.tokenAttemptTimeoutMs + POLICY.tokenAttemptDelaysMs.reduce((a, b) => a + b, 0));
const BUDGET_MS = RUN_MS + SETTLE_MS + 120_000 + N * 50;

const t0 = Date.now();
const elapsed = () => Date.now() - t0;
const log = (msg) => console.log(`[soak ${(elapsed() / 1000).toFixed(1).padStart(6)} s] ${msg}`);
const mb = (bytes) => (bytes === undefined ? "?" : `${(bytes / 1048576).toFixed(1)} MB`);

const stack = new Stack({ adminToken: `soak-${randomBytes(12).toString("hex")}`, log });
const appId = `mAppId_soak_${randomBytes(4).toString("hex")}`;
let app;
const budget = setTimeout(() => {
  console.error(`[soak] run budget of ${(BUDGET_MS / 1000).toFixed(0)} s exceeded; killing the stack`);
  process.exit(1);
}, BUDGET_MS);
budget.unref();

// ---------------------------------------------------------------------------------------------

const sessions = [];
let outageOn = false;
let mintsFailed = 0;
let answersSent = 0;
let failuresSent = 0;

function newSession(i) {
  const s = { i, userId: `soak-${i}`, client: undefined, requests: new Map(), staleErrors: 0, everDisconnected: false, reattaches: 0 };
  sessions.push(s);
  return s;
}

async function provide(s, client, frame) {
  const prior = s.requests.get(frame.requestId);
  if (prior) {
    prior.deliveries.push(client.id);
    if (prior.deliveries.filter((d) => d === client.id).length > 1) prior.duplicate = true;
    return;
  }
  s.requests.set(frame.requestId, { attempt: frame.attempt, refresh: frame.expiresAt !== undefined, deliveries: [client.id], at: Date.now() });
  const token = await stack.mint(app, s.userId);
  const r = s.requests.get(frame.requestId);
  r.latencyMs = Date.now() - r.at;
  if (token === undefined) {
    mintsFailed += 1;
    failuresSent += 1;
    r.answer = "token_failed";
    client.send({ type: "token_failed", requestId: frame.requestId, reason: "token backend unavailable" });
  } else {
    answersSent += 1;
    r.answer = "token";
    client.send({ type: "token", requestId: frame.requestId, token });
  }
}

async function attach(s) {
  const client = new Client(stack.wsBase, appId, s.userId, {
    onTokenRequest: (c, frame) => void provide(s, c, frame),
    onState: (_c, state) => {
      if (state.status === "disconnected" && client.connectSent) s.everDisconnected = true;
    },
    prove: (modes) => (modes.includes("ticket") ? { type: "auth", ticket: attachTicket(appId, s.userId, app.ticketSecret) } : undefined),
  });
  s.client = client;
  await client.open(30_000);
  client.connectSent = true;
  client.send({ type: "connect", userId: s.userId });
  return client;
}

function analyse(s) {
  const views = s.client.ofType("state").map((f) => f.state);
  let connects = 0;
  let left = 0;
  let refreshes = 0;
  let refreshStarts = 0;
  let reconnectAttempts = 0;
  let prev;
  for (const v of views) {
    if (prev) {
      if (v.status === "connected" && prev.status !== "connected") connects += 1;
      if (prev.status === "connected" && v.status !== "connected") left += 1;
      if (v.status === "connected" && prev.status === "connected" && prev.refreshing && !v.refreshing) refreshes += 1;
      if (v.refreshing && !prev.refreshing) refreshStarts += 1;
      if (v.reconnectAttempt > prev.reconnectAttempt) reconnectAttempts += v.reconnectAttempt - prev.reconnectAttempt;
    }
    prev = v;
  }
  const expectedConnects = 1 + left;
  const cycles = 1 + refreshStarts + reconnectAttempts;
  const requests = s.requests.size;
  return {
    final: views.at(-1)?.status,
    connects,
    expectedConnects,
    duplicateConnects: Math.max(0, connects - expectedConnects),
    missingConnects: Math.max(0, expectedConnects - connects),
    left,
    refreshes,
    cycles,
    requests,
    excessRequests: Math.max(0, requests - 3 * cycles),
    duplicateDeliveries: [...s.requests.values()].filter((r) => r.duplicate).length,
    stale: s.client.ofType("error").filter((e) => e.code === "token_request_stale").length,
    otherErrors: s.client.ofType("error").filter((e) => e.code !== "token_request_stale").map((e) => e.code),
  };
}

/** Answers the session refused as stale: which kind, and how long the provider took for them. */
function staleBreakdown() {
  const out = { token: 0, token_failed: 0, slowerThanAttemptTimeout: 0, maxLatencyMs: 0 };
  for (const s of sessions) {
    for (const e of s.client.ofType("error").filter((x) => x.code === "token_request_stale")) {
      const r = s.requests.get(e.requestId);
      if (!r) continue;
      out[r.answer] = (out[r.answer] ?? 0) + 1;
      if (r.latencyMs >= POLICY.tokenAttemptTimeoutMs) out.slowerThanAttemptTimeout += 1;
      out.maxLatencyMs = Math.max(out.maxLatencyMs, r.latencyMs ?? 0);
    }
  }
  return out;
}

/**
 * Refresh requests grouped into bursts (gaps of more than 1 s between them): sessions that
 * connected together refresh together, because the refresh time has no jitter (core/refresh.ts).
 */
function refreshBursts() {
  const times = sessions.flatMap((s) => [...s.requests.values()].filter((r) => r.refresh).map((r) => r.at)).sort((a, b) => a - b);
  const bursts = [];
  for (const t of times) {
    const last = bursts.at(-1);
    if (last && t - last.end <= 1_000) {
      last.end = t;
      last.requests += 1;
    } else bursts.push({ start: t, end: t, requests: 1 });
  }
  const largest = bursts.reduce((a, b) => (b.requests > (a?.requests ?? 0) ? b : a), undefined);
  return { refreshRequests: times.length, bursts: bursts.length, largest: largest ? { requests: largest.requests, spanMs: largest.end - largest.start } : null };
}

/** How long the provider (a mint from the emulator) took to answer, over every request. */
function providerLatency() {
  const all = sessions.flatMap((s) => [...s.requests.values()].map((r) => r.latencyMs)).filter((x) => x !== undefined).sort((a, b) => a - b);
  const q = (p) => all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? 0;
  return { p50: q(0.5), p99: q(0.99), max: all.at(-1) ?? 0 };
}

function counts() {
  const by = {};
  for (const s of sessions) {
    const st = s.client?.closed ? `socket closed ${s.client.closeCode}` : (s.client?.lastState()?.status ?? "none");
    by[st] = (by[st] ?? 0) + 1;
  }
  return by;
}

const rssSamples = [];
function sampleRss(label) {
  const procs = stack.workerdRss();
  const total = procs.reduce((a, p) => a + (p.rss ?? 0), 0);
  const runtime = procs.find((p) => p.runtime)?.rss;
  rssSamples.push({ at: elapsed(), label, total, runtime });
  return { total, runtime };
}

async function main() {
  log(`${N} sessions, ${SIM_MINUTES} simulated minutes at time scale ${SCALE} (${(RUN_MS / 1000).toFixed(0)} s of wall time + up to ${(SETTLE_MS / 1000).toFixed(1)} s to settle)`);
  log(`policy ${JSON.stringify(POLICY)}; tokens live ${LIFETIME_SEC} s (refresh every ~${LIFETIME_SEC / 2} s); outages ${OUTAGES.map(([a, b]) => `${(a / 1000).toFixed(0)}-${(b / 1000).toFixed(0)} s`).join(", ")}`);
  const startMs = await stack.start();
  log(`stack ready on ${stack.base} in ${startMs} ms`);
  app = await stack.createApp(appId, POLICY, { maxSessions: Math.max(N, 1) });
  await stack.setFaults({ tokenLifetimeSec: LIFETIME_SEC });
  for (let i = 0; i < N; i++) newSession(i);
  for (let i = 0; i < N; i += 20) await Promise.all(sessions.slice(i, i + 20).map((s) => stack.createUser(app, s.userId)));
  const rssStart = sampleRss("start");
  log(`${N} users created; workerd RSS at start ${mb(rssStart.total)} (runtime ${mb(rssStart.runtime)})`);

  // Ramp up: attach and connect everyone, 20 at a time.
  const loadStart = Date.now();
  for (let i = 0; i < N; i += 20) await Promise.all(sessions.slice(i, i + 20).map((s) => attach(s)));
  log(`${N} clients attached and connecting in ${Date.now() - loadStart} ms`);

  const runStart = Date.now();
  const at = () => Date.now() - runStart;
  let nextProgress = 0;
  let outageIdx = 0;
  while (at() < RUN_MS) {
    const now = at();
    const o = OUTAGES[outageIdx];
    if (o && !outageOn && now >= o[0]) {
      outageOn = true;
      await stack.setFaults({ outage: "refuse", tokenLifetimeSec: LIFETIME_SEC });
      log(`outage ${outageIdx + 1}/${OUTAGES.length} ON (emulator refuses everything)`);
    } else if (o && outageOn && now >= o[1]) {
      outageOn = false;
      outageIdx += 1;
      await stack.setFaults({ tokenLifetimeSec: LIFETIME_SEC });
      log(`outage ${outageIdx}/${OUTAGES.length} OFF`);
    }
    const changed = stack.runtimeChanged();
    if (changed) log(`WARNING ${changed}`);
    if (now >= nextProgress) {
      nextProgress += 5_000;
      const { total } = sampleRss("progress");
      const requests = sessions.reduce((a, s) => a + s.requests.size, 0);
      log(`sim ${(now * SCALE / 60_000).toFixed(1)} min: ${JSON.stringify(counts())}; token requests ${requests} (answered ${answersSent}, failed ${failuresSent}); RSS ${mb(total)}`);
    }
    await sleep(100);
  }
  if (outageOn) await stack.setFaults({ tokenLifetimeSec: LIFETIME_SEC });
  log(`simulated run over; letting the schedules settle (at most ${(SETTLE_MS / 1000).toFixed(1)} s)`);
  const settleUntil = Date.now() + SETTLE_MS;
  while (Date.now() < settleUntil) {
    if (sessions.every((s) => s.client.lastState()?.status === "connected" && !s.client.lastState()?.refreshing)) break;
    await sleep(200);
  }
  const rssEnd = sampleRss("end");
  const settledMs = SETTLE_MS - Math.max(0, settleUntil - Date.now());
  log(`settled after ${settledMs} ms: ${JSON.stringify(counts())}; workerd RSS at end ${mb(rssEnd.total)} (runtime ${mb(rssEnd.runtime)})`);

  // ------------------------------------------------------------------------------------------
  const per = sessions.map((s) => ({ s, a: analyse(s) }));
  const sum = (f) => per.reduce((acc, { a }) => acc + f(a), 0);
  const lost = per.filter(({ s, a }) => a.final !== "connected" || s.client.closed);
  const everDisconnected = sessions.filter((s) => s.everDisconnected);
  const requests = sum((a) => a.requests);
  const refreshes = sum((a) => a.refreshes);
  const connectsTotal = sum((a) => a.connects);
  const noOutageExpectation = N * (1 + Math.floor((RUN_MS / 1000) / (LIFETIME_SEC / 2)));
  const report = {
    when: new Date().toISOString(),
    command: `node scripts/reliability/soak.mjs ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    config: { sessions: N, simulatedMinutes: SIM_MINUTES, timeScale: SCALE, wallSeconds: +(RUN_MS / 1000).toFixed(1), tokenLifetimeSec: LIFETIME_SEC, policy: POLICY, outagesWallMs: OUTAGES },
    lostSessions: { notConnectedAtEnd: lost.length, everDisconnected: everDisconnected.length, examples: lost.slice(0, 5).map(({ s, a }) => ({ user: s.userId, final: a.final, closed: s.client.closed })) },
    connects: { total: connectsTotal, expected: sum((a) => a.expectedConnects), duplicate: sum((a) => a.duplicateConnects), missing: sum((a) => a.missingConnects), leftConnected: sum((a) => a.left) },
    refreshes: { completed: refreshes },
    tokenRequests: {
      total: requests,
      cycles: sum((a) => a.cycles),
      perCycle: +(requests / Math.max(1, sum((a) => a.cycles))).toFixed(2),
      beyondThreePerCycle: sum((a) => a.excessRequests),
      duplicateDeliveries: sum((a) => a.duplicateDeliveries),
      noOutageExpectation,
      answered: answersSent,
      providerFailures: failuresSent,
      staleAnswers: sum((a) => a.stale),
    },
    staleAnswers: staleBreakdown(),
    refreshBursts: refreshBursts(),
    providerLatencyMs: providerLatency(),
    otherErrors: per.flatMap(({ a }) => a.otherErrors).reduce((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {}),
    memory: { workerdRssStartBytes: rssStart.total, workerdRssEndBytes: rssEnd.total, workerdRssPeakBytes: Math.max(...rssSamples.map((r) => r.total)), runtimeRssStartBytes: rssStart.runtime, runtimeRssEndBytes: rssEnd.runtime, samples: rssSamples },
    settledAfterMs: settledMs,
    runtimeRestartedUnderneath: stack.runtimeRestarts ?? 0,
    wallSecondsTotal: +(elapsed() / 1000).toFixed(1),
  };
  mkdirSync(join(OUT, ".."), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);

  log("summary:");
  console.log(`  lost sessions:        ${lost.length} not connected at the end, ${everDisconnected.length} ever disconnected (goal 0)`);
  console.log(`  connects:             ${connectsTotal} (expected ${report.connects.expected}; duplicate ${report.connects.duplicate}, missing ${report.connects.missing}; left connected ${report.connects.leftConnected} times)`);
  console.log(`  refreshes completed:  ${refreshes}`);
  console.log(`  token requests:       ${requests} over ${report.tokenRequests.cycles} cycles (${report.tokenRequests.perCycle}/cycle; beyond 3/cycle: ${report.tokenRequests.beyondThreePerCycle}; same request twice to a client: ${report.tokenRequests.duplicateDeliveries}); with no outage ~${noOutageExpectation}`);
  console.log(`  provider:             ${answersSent} tokens, ${failuresSent} failures (mint refused), ${report.tokenRequests.staleAnswers} stale answers`);
  console.log(`  stale answers:        ${JSON.stringify(report.staleAnswers)}; provider latency ms ${JSON.stringify(report.providerLatencyMs)}`);
  console.log(`  refresh bursts:       ${JSON.stringify(report.refreshBursts)}`);
  console.log(`  other errors:         ${JSON.stringify(report.otherErrors)}`);
  console.log(`  workerd RSS:          start ${mb(rssStart.total)}, end ${mb(rssEnd.total)}, peak ${mb(report.memory.workerdRssPeakBytes)} (runtime process ${mb(rssStart.runtime)} -> ${mb(rssEnd.runtime)})`);
  console.log(`  report:               ${OUT}`);
  const failed = [];
  if (stack.runtimeRestarts) failed.push(`the runtime workerd was replaced ${stack.runtimeRestarts} time(s) during the run (killed or crashed outside this script): results are not valid`);
  if (lost.length > 0) failed.push(`${lost.length} sessions not connected at the end`);
  if (everDisconnected.length > 0) failed.push(`${everDisconnected.length} sessions fell to disconnected`);
  if (report.connects.duplicate > 0) failed.push(`${report.connects.duplicate} duplicate connects`);
  if (report.tokenRequests.beyondThreePerCycle > 0) failed.push(`${report.tokenRequests.beyondThreePerCycle} token requests beyond 3 per cycle`);
  if (report.tokenRequests.duplicateDeliveries > 0) failed.push(`${report.tokenRequests.duplicateDeliveries} requests delivered twice to one client`);
  return failed;
}

let failed;
try {
  failed = await main();
} catch (err) {
  failed = [`aborted: ${err instanceof Error ? err.stack : String(err)}`];
  console.log(stack.logTail(30));
}
for (const s of sessions) s.client?.close();
if (failed.length > 0) console.log(`[soak] wrangler log tail:\n${stack.logTail(40)}`);
await stack.cleanup({ keep: failed.length > 0 && process.argv.includes("--keep") });
if (failed.length > 0 && process.argv.includes("--keep")) console.log(`[soak] kept ${stack.logPath}`);
console.log(failed.length === 0 ? "[soak] PASS" : `[soak] FAIL\n  - ${failed.join("\n  - ")}`);
process.exit(failed.length === 0 ? 0 : 1);
