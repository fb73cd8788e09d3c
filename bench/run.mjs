/**
 * `npm run bench` (quick, about 7 minutes on 2 cores) and `npm run bench -- --full` (the larger
 * sizes). Starts the orchestrator's local stack (wrangler.local.toml: orchestrator + Kaleyra
 * emulator) and the peer worker (bench/peer/) on free ports, each in a process group of its own
 * that is killed on exit whatever happens, runs every benchmark beside its peer or baseline, prints
 * a table and writes bench/results.json.
 *
 * Options: --full; --only=attach,apps,capacity,storm,refresh,schedule,residency,connections,connectors,relay,join,first,wake,size (a subset);
 * --out=<path> (default bench/results.json); --connector-users=N (the connectors stage's size).
 */
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { runApps } from "./metrics/apps.mjs";
import { runAttach } from "./metrics/attach.mjs";
import { runCapacity } from "./metrics/capacity.mjs";
import { runConnections } from "./metrics/connections.mjs";
import { runConnectors } from "./metrics/connectors.mjs";
import { runFirst, runJoin } from "./metrics/join.mjs";
import { runRefresh } from "./metrics/refresh.mjs";
import { runRelay } from "./metrics/relay.mjs";
import { runResidency } from "./metrics/residency.mjs";
import { runSchedule } from "./metrics/schedule.mjs";
import { runSize } from "./metrics/size.mjs";
import { runStorm } from "./metrics/storm.mjs";
import { runWake } from "./metrics/wake.mjs";
import { foreignWorkerdCount, openFilesLimit, recalibrateClock, ROOT, Stack } from "./lib/proc.mjs";
import { round } from "./lib/stats.mjs";

if (typeof globalThis.WebSocket !== "function") {
  console.error("bench needs Node 22 (global WebSocket): run it as `npm run bench`");
  process.exit(2);
}

const args = process.argv.slice(2);
const full = args.includes("--full");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const out = args.find((a) => a.startsWith("--out="))?.slice(6) ?? join(ROOT, "bench", "results.json");
// Schedule first: its tail is sensitive to the runtime evicting the objects other stages left idle.
const STAGES = ["size", "schedule", "attach", "apps", "refresh", "storm", "connections", "residency", "connectors", "relay", "join", "first", "wake", "capacity"];
const stages = only ?? STAGES;
for (const s of stages) if (!STAGES.includes(s)) throw new Error(`unknown stage ${s} (have ${STAGES.join(", ")})`);

const SIZES = {
  quick: {
    attachSessions: 300,
    attachProbes: 100,
    attachConcurrency: 32,
    appsCount: 50,
    capacityCap: 2_000,
    capacityStep: 500,
    stormSessions: 200,
    refreshUsersPerK: 3,
    refreshCycles: 3,
    scheduleSessions: 300,
    scheduleSeconds: 10,
    relayEvents: 100,
    relayEmitSeconds: 5,
    residencySessions: 100,
    residencyConnectedSeconds: 48,
    residencyWaitingSeconds: 64,
    connectionSessions: 200,
    connectorUsers: 1_000,
    connectorApps: 10,
    connectorIdleSeconds: 60,
    connectorRefreshSpreadSeconds: 30,
    connectorEventSpreadSeconds: 60,
    connectorBurstRounds: 5,
    wakeLatencyUsers: 20,
    wakeLatencyRings: 100,
    wakeThroughputUsers: 40,
    wakeSubscriptionsPerUser: 5,
    wakeWaves: 2,
  },
  full: {
    attachSessions: 1_000,
    attachProbes: 200,
    attachConcurrency: 32,
    appsCount: 200,
    capacityCap: 10_000,
    capacityStep: 500,
    stormSessions: 1_000,
    refreshUsersPerK: 5,
    refreshCycles: 4,
    scheduleSessions: 1_000,
    scheduleSeconds: 20,
    relayEvents: 300,
    relayEmitSeconds: 10,
    residencySessions: 300,
    residencyConnectedSeconds: 96,
    residencyWaitingSeconds: 96,
    connectionSessions: 300,
    connectorUsers: 2_000,
    connectorApps: 20,
    connectorIdleSeconds: 120,
    connectorRefreshSpreadSeconds: 60,
    connectorEventSpreadSeconds: 60,
    connectorBurstRounds: 10,
    wakeLatencyUsers: 40,
    wakeLatencyRings: 200,
    wakeThroughputUsers: 80,
    wakeSubscriptionsPerUser: 5,
    wakeWaves: 3,
  },
};
const size = SIZES[full ? "full" : "quick"];
// --connector-users=N (and apps N/100, at least 1): a smaller or larger connectors stage.
const connectorUsers = args.find((a) => a.startsWith("--connector-users="))?.slice(18);
if (connectorUsers !== undefined) Object.assign(size, { connectorUsers: Number(connectorUsers), connectorApps: Math.max(1, Math.floor(Number(connectorUsers) / 100)) });

const started = Date.now();
const stamp = () => `${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s`;
const say = (line) => console.log(`[${stamp()}] ${line}`);

const adminToken = `bench-${randomBytes(12).toString("hex")}`;
const prod = new Stack({ name: "kaleyra-edge", config: "wrangler.local.toml", vars: { ADMIN_TOKEN: adminToken, ATTACH_LIMIT_PER_MINUTE: "1000000000" }, log: say });
const peer = new Stack({ name: "peer", config: "bench/peer/wrangler.toml", log: say });

const results = {
  run: { mode: full ? "full" : "quick", startedAt: new Date(started).toISOString(), stages, sizes: size },
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gib: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    workerd: undefined,
    fd_limit: openFilesLimit(),
  },
  noise: {},
};

const needsStacks = stages.some((s) => s !== "size");
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

async function stage(name, fn) {
  if (!stages.includes(name)) return;
  const t0 = Date.now();
  const foreign = foreignWorkerdCount();
  say(`== ${name}${foreign > 0 ? ` (note: ${foreign} other workerd processes are running on this machine: measurement noise)` : ""}`);
  lag.reset();
  recalibrateClock();
  try {
    results[name] = await fn();
  } catch (err) {
    say(`${name} FAILED: ${err.stack ?? err}`);
    if (prod.pgid !== undefined) say(`kaleyra-edge wrangler log (tail):\n${prod.logTail(30)}`);
    results[name] = { error: String(err.message ?? err) };
  }
  results.noise[name] = { seconds: round((Date.now() - t0) / 1000, 1), foreignWorkerd: Math.max(foreign, foreignWorkerdCount()), benchEventLoopDelayP99Ms: round(lag.percentile(99) / 1e6, 1) };
}

try {
  if (needsStacks) {
    say(`starting the orchestrator stack (wrangler.local.toml) and the peer worker (bench/peer/) on free ports`);
    const [a, b] = await Promise.all([prod.start(), peer.start()]);
    say(`kaleyra-edge on ${prod.base} (${a} ms), peer on ${peer.base} (${b} ms)`);
    results.machine.workerd = prod.workerdVersion();
  }
  const ctx = { prod, peer, size, say, adminToken, full };
  await stage("size", () => runSize(ctx));
  await stage("schedule", () => runSchedule(ctx));
  await stage("attach", () => runAttach(ctx));
  await stage("apps", () => runApps(ctx));
  await stage("refresh", () => runRefresh(ctx));
  await stage("storm", () => runStorm(ctx));
  await stage("connections", () => runConnections(ctx));
  await stage("residency", () => runResidency(ctx));
  await stage("connectors", () => runConnectors(ctx));
  await stage("relay", () => runRelay(ctx));
  await stage("join", () => runJoin(ctx));
  await stage("first", () => runFirst(ctx));
  await stage("wake", () => runWake(ctx));
  await stage("capacity", () => runCapacity(ctx));
} finally {
  await Promise.all([prod.stop(), peer.stop()]);
}

// The flat keys the brief asks for, beside the detail.
const pick = (stageName, key) => results[stageName]?.[key];
results.summary = {
  attach_p50_ms: pick("attach", "attach_p50_ms"),
  attach_p99_ms: pick("attach", "attach_p99_ms"),
  peer_attach_p50_ms: pick("attach", "peer_attach_p50_ms"),
  peer_attach_p99_ms: pick("attach", "peer_attach_p99_ms"),
  attaches_per_second: pick("attach", "attaches_per_second"),
  peer_attaches_per_second: pick("attach", "peer_attaches_per_second"),
  apps_attach_p50_ms: pick("apps", "apps_attach_p50_ms"),
  apps_attach_p99_ms: pick("apps", "apps_attach_p99_ms"),
  apps_attaches_per_second: pick("apps", "apps_attaches_per_second"),
  max_sockets: pick("capacity", "max_sockets"),
  rss_per_socket_kb: pick("capacity", "rss_per_socket_kb"),
  herd_factor: pick("storm", "herd_factor"),
  herd_factor_unjittered: pick("storm", "herd_factor_unjittered"),
  herd_factor_ideal: pick("storm", "herd_factor_ideal"),
  token_requests_per_refresh: pick("refresh", "token_requests_per_refresh"),
  schedule_late_p50_ms: pick("schedule", "schedule_late_p50_ms"),
  schedule_late_p99_ms: pick("schedule", "schedule_late_p99_ms"),
  connected_resident_objects: pick("residency", "connected_resident_objects"),
  connected_awake_fraction: pick("residency", "connected_awake_fraction"),
  connected_alarm_wakeups_per_hour: pick("residency", "connected_alarm_wakeups_per_hour"),
  connected_lost_connections_per_hour: pick("residency", "connected_lost_connections_per_hour"),
  waiting_live_objects_min: pick("residency", "waiting_live_objects_min"),
  waiting_awake_fraction: pick("residency", "waiting_awake_fraction"),
  waiting_alarm_wakeups_per_hour: pick("residency", "waiting_alarm_wakeups_per_hour"),
  kaleyra_connections_per_user: pick("connections", "kaleyra_connections_per_user"),
  relay_kaleyra_connections: pick("relay", "relay_kaleyra_connections"),
  relay_fanout_p50_ms: pick("relay", "relay_fanout_p50_ms"),
  relay_fanout_p99_ms: pick("relay", "relay_fanout_p99_ms"),
  relay_emits_per_second: pick("relay", "relay_emits_per_second"),
  connects_per_token_join: pick("join", "connects_per_token_join"),
  connects_per_first_connect: pick("join", "connects_per_first_connect"),
  sdk_kaleyra_connections_per_user: pick("connections", "sdk_kaleyra_connections_per_user"),
  connected_session_rss_kb: pick("connections", "connected_session_rss_kb"),
  connected_session_heap_kb: pick("connections", "connected_session_heap_kb"),
  emulator_rss_kb_per_connection: pick("connections", "emulator_rss_kb_per_connection"),
  sdk_client_heap_kb_per_connection: pick("connections", "sdk_client_heap_kb_per_connection"),
  connected_users_measured: pick("connectors", "connected_users_measured"),
  connected_apps_measured: pick("connectors", "connected_apps_measured"),
  connected_awake_seconds_per_user_hour: pick("connectors", "connected_awake_seconds_per_user_hour"),
  connected_billable_seconds_per_user_hour: pick("connectors", "connected_billable_seconds_per_user_hour"),
  connected_cost_usd_per_user_month: pick("connectors", "connected_cost_usd_per_user_month"),
  connected_cost_usd_per_user_month_event_per_minute: pick("connectors", "connected_cost_usd_per_user_month_event_per_minute"),
  connectors_per_1000_users: pick("connectors", "connectors_per_1000_users"),
  connector_rss_kb_per_connection: pick("connectors", "connector_rss_kb_per_connection"),
  connector_events_per_second: pick("connectors", "connector_events_per_second"),
  restart_herd_all_back_s: pick("connectors", "restart_herd")?.all_back_s,
  restart_herd_peak_connects_per_100ms: pick("connectors", "restart_herd")?.peak_connects_per_100ms,
  restart_herd_peak_connects_per_s: pick("connectors", "restart_herd")?.peak_connects_per_s,
  restart_herd_ideal_peak_connects_per_100ms: pick("connectors", "restart_herd")?.ideal_peak_connects_per_100ms,
  wake_event_to_push_p50_ms: pick("wake", "wake_event_to_push_p50_ms"),
  wake_event_to_push_p99_ms: pick("wake", "wake_event_to_push_p99_ms"),
  wake_pushes_per_second: pick("wake", "wake_pushes_per_second"),
  client_gzip_bytes: pick("size", "client_gzip_bytes"),
  peer_client_gzip_bytes: pick("size", "peer_client_gzip_bytes"),
};
Object.assign(results, results.summary);
results.run.seconds = round((Date.now() - started) / 1000, 1);
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

const { printTable } = await import("./lib/table.mjs");
printTable(results);
say(`wrote ${out} (${results.run.seconds} s)`);
process.exit(0); // every stack is stopped; do not wait for sockets still closing
