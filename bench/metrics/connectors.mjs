/**
 * 9. Connected users at scale (issue 22): sessions that hibernate, connectors that hold the
 * Kaleyra connections. N users over A apps (one shared pool: sandbox, eu), each with one client
 * that answers token requests with 24 h tokens signed here.
 *
 * Phases: attach (not connected) and wait for the sessions to be evicted: runtime RSS and JS heap;
 * connect all: the same again once the sessions hibernated (per connection); an idle window
 * (object-seconds in memory, alarms and report calls counted); a refresh of every user (Kaleyra's
 * is_about_to_expire); one relayed event per user; bursts of events (throughput through a
 * connector); a connector restart (the herd of CONNECTs). Object-seconds come from heap snapshots
 * (lib/awake.mjs); calls are counted with breakpoints that never pause (lib/inspector.mjs); CONNECT
 * times from the emulator (`GET /control/connects?since=`); connectors' own counts from the local
 * control (`GET /dev/connectors`). The cost model is lib/cost.mjs, applied in connectors-cost.mjs.
 */
import { AwakeMeter } from "../lib/awake.mjs";
import { Inspector } from "../lib/inspector.mjs";
import { accessToken, call, Client, createUsers, describeClients, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { cpuMs, nowMs, onOwnStack, rssKb, sleep, waitUntil } from "../lib/proc.mjs";
import { round, summary } from "../lib/stats.mjs";
import { costModel } from "./connectors-cost.mjs";
import { restartHerd } from "./connectors-herd.mjs";
import { burstStats, reportCallStats, tracker } from "./connectors-lib.mjs";

const POOL = "environment=sandbox&region=eu&pool=shared";
/**
 * A heap snapshot stops the runtime for 1 to 1.5 s with 1,000 connections held: taken every 6 s
 * while sessions wake, it delays them (their eviction too) less than every 3 s did.
 */
const SNAPSHOT_EVERY_MS = 6_000;
/**
 * Attach tickets live this long: each session wakes when its used ticket expires (to forget it),
 * which with the usual 5 minutes fell inside a measured phase; 20 s puts it before the first one.
 */
const TICKET_SECONDS = 20;

async function shards(stack) {
  const r = await call(stack, "GET", `/dev/connectors?${POOL}`);
  if (r.status !== 200) throw new Error(`GET /dev/connectors: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.shards;
}

async function emitAll(stack, apps, event, data) {
  let delivered = 0;
  for (const app of apps) {
    const r = await call(stack, "POST", "/emulator/control/connections/emit", { appId: app.appId, event, ...(data === undefined ? {} : { data }) });
    if (r.status !== 200) throw new Error(`emit ${event}: ${r.status} ${JSON.stringify(r.json)}`);
    delivered += r.json.delivered;
  }
  return delivered;
}

/**
 * One event per user, spread evenly over `seconds` (as N users with an event each per `seconds`
 * would send them); returns when each user's was sent (ms, Date.now clock). Never in bursts: a
 * send that fell behind (the bench's own heap snapshots stall this process) pushes the rest later.
 */
async function emitSpread(stack, users, event, data, seconds) {
  const sentAt = new Map();
  const step = (seconds * 1000) / users.length;
  let next = nowMs();
  for (const u of users) {
    await sleep(Math.max(0, next - nowMs()));
    next = Math.max(next, nowMs()) + step;
    sentAt.set(u.userId, Date.now());
    const r = await call(stack, "POST", "/emulator/control/connections/emit", { appId: u.app.appId, userId: u.userId, event, ...(data === undefined ? {} : { data }) });
    if (r.status !== 200) throw new Error(`emit ${event} to ${u.userId}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  return sentAt;
}


async function kaleyraConnections(stack, apps) {
  let n = 0;
  for (const app of apps) n += (await call(stack, "GET", `/emulator/control/connections?appId=${app.appId}`)).json.connections.filter((c) => c.state === "connected").length;
  return n;
}

/** Waits (bounded) until no more connectors are live than hold connections (the dev control's reads wake unused ones). */
async function settleConnectors(meter, busy, timeoutMs) {
  const until = nowMs() + timeoutMs;
  let s = await meter.sample();
  while (s.connectors.size > busy && nowMs() < until) {
    await sleep(2_000);
    s = await meter.sample();
  }
  return s.connectors.size;
}

async function settleSessions(meter, limit, timeoutMs) {
  const until = nowMs() + timeoutMs;
  let s = await meter.sample();
  while (s.sessions.size > limit && nowMs() < until) {
    await sleep(2_000);
    s = await meter.sample();
  }
  return s;
}

/** The stage runs on a stack of its own (lib/proc.mjs `onOwnStack`: the earlier stages' objects keep waking). */
export function runConnectors(ctx) {
  return onOwnStack(ctx, "connectors", (prod) => measure(ctx, prod));
}

async function measure(ctx, prod) {
  const { size, say } = ctx;
  const n = size.connectorUsers;
  const appCount = size.connectorApps;
  const inspector = await Inspector.connect(prod);
  const meter = new AwakeMeter(inspector);
  const runtime = prod.runtimePid();
  const apps = [];
  for (let a = 0; a < appCount; a++) apps.push(await registerApp(prod, ctx.adminToken, `mAppId_bench_conn_${a}`));
  const users = Array.from({ length: n }, (_, i) => ({ app: apps[i % appCount], userId: `cu-${i}` }));
  for (const app of apps) await createUsers(prod, app, users.filter((u) => u.app === app).map((u) => u.userId));
  const t = tracker();
  const tokens = (req, c) => accessToken(c.app, req.userId, Math.floor(Date.now() / 1000) + 86_400);
  say(`connectors: ${n} users over ${appCount} apps, one client each (24 h tokens); attaching without connecting`);
  const clients = await openMany(n, 32, (i) => new Client(prod, users[i].app, users[i].userId, { tokens, connect: false, onFrame: t.onFrame, ticketSeconds: TICKET_SECONDS }), { progress: { every: 250, say: (d) => say(`connectors: ${d} attached`) } });
  try {
    const attachedOk = clients.filter((c) => c.state !== undefined).length;
    if (attachedOk < n) throw new Error(`only ${attachedOk}/${n} attached: ${describeClients(clients)}`);
    const base = await settleSessions(meter, Math.ceil(n * 0.01), 45_000);
    const rss0 = rssKb(runtime);
    const heap0 = inspector.lastHeapBytes;
    say(`connectors: attached, ${base.sessions.size} sessions still live; runtime RSS ${rss0} kB; connecting all`);

    const tConnect = nowMs();
    for (const c of clients) c.send({ type: "connect", userId: c.userId });
    await waitUntil(() => clients.every((c) => c.state?.status === "connected"), "every session connected", 180_000, 100).catch((err) => {
      throw new Error(`${err.message}: ${describeClients(clients)}`);
    });
    const connectSeconds = (nowMs() - tConnect) / 1000;
    const held = await kaleyraConnections(prod, apps);
    const pool = await shards(prod);
    const busy = pool.filter((s) => s.held > 0);
    say(`connectors: ${n} connected in ${round(connectSeconds, 1)} s; Kaleyra holds ${held} connections; ${busy.length} connector(s) hold them: ${busy.map((s) => `${s.name} ${s.held}`).join(", ")}`);
    const hibernated = await settleSessions(meter, Math.ceil(n * 0.01), 45_000);
    const rss1 = rssKb(runtime);
    const heap1 = inspector.lastHeapBytes;
    say(`connectors: ${hibernated.sessions.size} sessions live after hibernating; RSS +${round((rss1 - rss0) / n, 1)} kB per connection`);

    // Idle: nothing but Kaleyra's heartbeats (answered by the connector).
    const liveConnectors = await settleConnectors(meter, busy.length, 30_000);
    if (liveConnectors > busy.length) say(`connectors: note: ${liveConnectors} connectors live for ${busy.length} holding connections`);
    const idleCalls = await countCalls(inspector);
    const cpuIdle0 = cpuMs(runtime);
    const idle = await meter.measure(size.connectorIdleSeconds * 1000, { everyMs: 4_000 });
    const idleCounts = await stopCounting(inspector, idleCalls);
    const cpuIdle = cpuMs(runtime) - cpuIdle0;
    say(`connectors: idle ${round(idle.seconds, 1)} s: object-seconds sessions ${round(idle.objectSeconds.sessions, 1)}, connectors ${round(idle.objectSeconds.connectors, 1)}; session alarms ${idleCounts.sessionAlarms}, connector alarms ${idleCounts.connectorAlarms}, report calls ${idleCounts.reports}`);

    // A refresh of every user, started by Kaleyra saying the token is about to expire, spread over
    // REFRESH_SPREAD_S (refreshes are spread by each session's refresh window in real life).
    const refreshCalls = await countCalls(inspector);
    const before = t.refreshed.length;
    const refreshing = emitSpread(prod, users, "is_about_to_expire", undefined, size.connectorRefreshSpreadSeconds);
    const refresh = await meter.measure(size.connectorRefreshSpreadSeconds * 1000 + 45_000, { everyMs: SNAPSHOT_EVERY_MS, minMs: size.connectorRefreshSpreadSeconds * 1000 + 5_000, stop: (s) => t.refreshed.length - before >= n && s.sessions.size <= Math.ceil(n * 0.01) });
    await refreshing;
    const refreshCounts = await stopCounting(inspector, refreshCalls);
    const refreshes = t.refreshed.length - before;
    say(`connectors: ${refreshes} refreshes over ${size.connectorRefreshSpreadSeconds} s; session object-seconds ${round(refresh.objectSeconds.sessions, 1)} in ${round(refresh.seconds, 1)} s`);

    // The relay's latency through a connector to a hibernated session, without heap snapshots
    // (each one stops the runtime for about a second): one event per user, spread over 30 s.
    await settleSessions(meter, Math.ceil(n * 0.01), 45_000);
    const probeSent = await emitSpread(prod, users, "bench:probe", { k: 0 }, 30);
    await waitUntil(() => (t.events.get("bench:probe")?.length ?? 0) >= n, "every probe event", 30_000, 20).catch(() => {});
    const latency = summary((t.events.get("bench:probe") ?? []).map((e) => e.at - probeSent.get(e.user)));
    say(`connectors: ${latency.n} events (one per user, spread over 30 s), from the emulator's send to the client: p50 ${latency.p50} ms, p99 ${latency.p99} ms (each wakes a hibernated session)`);
    await settleSessions(meter, Math.ceil(n * 0.01), 45_000);

    // One relayed event per user, spread over a minute: the "one event per user per minute" load.
    const eventCalls = await countCalls(inspector);
    const statsBefore = (await shards(prod)).filter((s) => s.held > 0);
    const sending = emitSpread(prod, users, "bench:event", { k: 1 }, size.connectorEventSpreadSeconds);
    const event = await meter.measure(size.connectorEventSpreadSeconds * 1000 + 45_000, { everyMs: SNAPSHOT_EVERY_MS, minMs: size.connectorEventSpreadSeconds * 1000 + 5_000, stop: (s) => (t.events.get("bench:event")?.length ?? 0) >= n && s.sessions.size <= Math.ceil(n * 0.01) });
    const sentAt = await sending;
    const eventCounts = await stopCounting(inspector, eventCalls);
    const reportCalls = reportCallStats(statsBefore, await shards(prod));
    const eventsGot = t.events.get("bench:event") ?? [];
    const snapshotted = summary(eventsGot.map((e) => e.at - sentAt.get(e.user)));
    say(`connectors: ${eventsGot.length} events relayed (spread over ${size.connectorEventSpreadSeconds} s, heap snapshots every ${SNAPSHOT_EVERY_MS / 1000} s); report call ${reportCalls.meanMs} ms mean; session object-seconds ${round(event.objectSeconds.sessions, 1)}`);

    // The same, all at once: a herd of wake-ups.
    const tAll = Date.now();
    await emitAll(prod, apps, "bench:all", { k: 1 });
    await waitUntil(() => (t.events.get("bench:all")?.length ?? 0) >= n, "every event sent at once", 60_000, 20).catch(() => {});
    const allAtOnce = summary((t.events.get("bench:all") ?? []).map((e) => e.at - tAll));
    say(`connectors: one event to every user at once: p50 ${allAtOnce.p50} ms, p99 ${allAtOnce.p99} ms to the client (${n} sessions woken together)`);

    // Throughput: bursts of events to everyone, back to back.
    const statsBurst0 = (await shards(prod)).filter((s) => s.held > 0);
    const cpuBurst0 = cpuMs(runtime);
    const tBurst = nowMs();
    for (let r = 0; r < size.connectorBurstRounds; r++) await emitAll(prod, apps, "bench:burst", { r });
    const wanted = n * size.connectorBurstRounds;
    await waitUntil(() => (t.events.get("bench:burst")?.length ?? 0) >= wanted, "every burst event", 180_000, 20).catch(() => {});
    const burstGot = t.events.get("bench:burst") ?? [];
    const burstSeconds = (Math.max(...burstGot.map((e) => e.at)) - tBurst) / 1000;
    const cpuBurst = cpuMs(runtime) - cpuBurst0;
    const statsBurst1 = (await shards(prod)).filter((s) => s.held > 0);
    const burst = burstStats(statsBurst0, statsBurst1, burstGot.length, burstSeconds, cpuBurst);
    say(`connectors: burst ${burstGot.length}/${wanted} events in ${round(burstSeconds, 2)} s: ${burst.eventsPerSecond}/s through ${statsBurst1.length} connector(s); ${burst.reportsPerCall} reports per call; runtime CPU ${burst.cpuMsPerEvent} ms per event`);

    // The restart herd: every connector that holds users restarts at once.
    const herdResult = await restartHerd({ ...ctx, prod }, apps, clients, t, busy);
    say(`connectors: restart herd: all ${herdResult.back}/${n} back ${herdResult.all_back_s} s after the restart (lost reported after ${herdResult.lost_reported_p50_s} s p50); peak CONNECTs ${herdResult.peak_connects_per_100ms}/100 ms, ${herdResult.peak_connects_per_s}/s (the schedule's ideal: all ${n} at once)`);

    const measured = {
      users: n,
      apps: appCount,
      connectors: busy.length,
      idle: { ...idle, counts: idleCounts, runtimeCpuMs: cpuIdle },
      refresh: { ...refresh, refreshes, counts: refreshCounts, answerToRefreshedMs: summary(t.refreshed.slice(before)) },
      event: { ...event, events: eventsGot.length, counts: eventCounts, latencyMs: latency, latencyWithSnapshotsMs: snapshotted },
      allAtOnce: { latencyMs: allAtOnce },
      reportCalls,
    };
    const cost = costModel(measured);
    return {
      connected_users_measured: n,
      connected_apps_measured: appCount,
      connectors_per_1000_users: round((busy.length * 1000) / n, 2),
      connector_rss_kb_per_connection: round((rss1 - rss0) / n, 1),
      connector_heap_kb_per_connection: heap0 && heap1 ? round((heap1 - heap0) / n / 1024, 1) : undefined,
      connected_awake_seconds_per_user_hour: cost.awake.headline,
      connected_billable_seconds_per_user_hour: cost.billable.headline,
      connected_cost_usd_per_user_month: cost.usd.idle,
      connected_cost_usd_per_user_month_event_per_minute: cost.usd.eventPerMinute,
      connector_events_per_second: burst.eventsPerSecond,
      connector_relay_latency_p50_ms: latency.p50,
      connector_relay_latency_p99_ms: latency.p99,
      restart_herd: herdResult,
      detail: { connectSeconds: round(connectSeconds, 1), kaleyraConnections: held, shards: busy, rss: { beforeKb: rss0, afterKb: rss1 }, heap: { before: heap0, after: heap1 }, measured, cost, burst },
    };
  } finally {
    await endSessions(clients, 60_000);
    inspector.close();
  }
}


async function countCalls(inspector) {
  return {
    sessionAlarms: await inspector.countCalls(`sa${Math.random()}`, "UserSession", "alarm"),
    connectorAlarms: await inspector.countCalls(`ca${Math.random()}`, "KaleyraConnector", "alarm"),
    reports: await inspector.countCalls(`rp${Math.random()}`, "UserSession", "connectorReports"),
  };
}

async function stopCounting(inspector, calls) {
  await inspector.stopCounting();
  const total = (m) => [...m.values()].reduce((a, times) => a + times.length, 0);
  return { sessionAlarms: total(calls.sessionAlarms), connectorAlarms: total(calls.connectorAlarms), reports: total(calls.reports) };
}
