/**
 * 6. Residency: which session objects stay in memory, and how often each one wakes.
 *
 * A connected session's Socket.IO connection to Kaleyra is held by a connector (issue 22), so the
 * session holds no outbound socket and should be evicted between its duties like a waiting one:
 * its one alarm runs the safety check every LIVENESS_CHECK_MS (6 h) and about one refresh per token
 * lifetime. (Before issue 22 the session held the socket itself: resident 100 % of the time, an
 * alarm every 15 s.) A waiting session (reconnect backoff during an outage) holds no connection and
 * should be evicted between its duties. Two phases, each with M sessions over a window:
 *  (a) connected: M sessions whose clients answer token requests with 1 h tokens;
 *  (b) waiting: M sessions of an app with a long reconnect backoff (the first retry at once, then
 *      every WAIT_S s) while the emulator refuses every connection (faults `outage: "refuse"`),
 *      clients attached and answering.
 *
 * Measured without a hook in the product, through the runtime's inspector (lib/inspector.mjs):
 * heap snapshots every few seconds give the live session objects and their identities (a new
 * identity is a construction, a wake-up from hibernation); a conditional breakpoint that never
 * pauses counts `UserSession.alarm` calls per object. The clients count what they are sent
 * (token requests, reconnects). The emulator's `GET /control/connections` counts the Kaleyra
 * connections held. Runtime CPU time is read from /proc; it includes the emulator's side and the
 * bench's own heap snapshots, so it stays in the detail as an upper bound.
 */
import { accessToken, Client, createUsers, describeClients, endSessions, openMany, registerApp, setFaults } from "../lib/kaleyra.mjs";
import { Inspector } from "../lib/inspector.mjs";
import { cpuMs, nowMs, onOwnStack, sleep, waitUntil } from "../lib/proc.mjs";
import { round, summary } from "../lib/stats.mjs";

const SNAPSHOT_EVERY_MS = 4_000;
export const LIVENESS_CHECK_S = 6 * 3_600; // core/refresh.ts LIVENESS_CHECK_MS
/** Long backoff for the waiting phase: after the first retry every reconnect waits WAIT_S (+ up to 2 s jitter). */
const WAIT_S = 30;
const WAITING_POLICY = { tokenAttemptDelaysMs: [0, 1_000, 4_000], tokenAttemptTimeoutMs: 5_000, reconnectDelaysMs: [0, WAIT_S * 1000], reconnectSteadyDelayMs: WAIT_S * 1000, jitterMaxMs: 2_000 };

/** How many Kaleyra connections the emulator holds for an app (and a user). */
export async function emulatorConnections(stack, appId, userId) {
  const q = `appId=${encodeURIComponent(appId)}${userId === undefined ? "" : `&userId=${encodeURIComponent(userId)}`}`;
  const res = await fetch(`${stack.base}/emulator/control/connections?${q}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /emulator/control/connections: ${res.status}`);
  return (await res.json()).connections.filter((c) => c.state === "connected").length;
}

/** Watches M sessions for `windowMs`: snapshots, alarm calls, client frames, runtime CPU. */
async function observe(ctx, inspector, clients, windowMs, counts, exclude = new Set()) {
  const runtime = ctx.prod.runtimePid();
  const alarms = inspector ? await inspector.countCalls("alarm", "UserSession", "alarm") : undefined;
  const t0 = nowMs();
  const cpu0 = cpuMs(runtime);
  // Objects of an earlier phase (still live until the runtime evicts them) are not counted.
  const liveIds = async () => new Set((await inspector.liveSessions()).filter((id) => !exclude.has(id)));
  const initial = inspector ? await liveIds() : new Set();
  const series = [{ t: 0, live: initial.size }];
  const seen = new Set();
  let residentAll = initial.size; // initial objects live in every snapshot
  const stillLive = new Set(initial);
  counts.measuring = true;
  while (nowMs() - t0 < windowMs) {
    await sleep(Math.max(0, SNAPSHOT_EVERY_MS - ((nowMs() - t0) % SNAPSHOT_EVERY_MS)));
    if (!inspector) continue;
    const ids = await liveIds();
    for (const id of ids) if (!initial.has(id)) seen.add(id);
    for (const id of stillLive) if (!ids.has(id)) stillLive.delete(id);
    residentAll = stillLive.size;
    series.push({ t: round((nowMs() - t0) / 1000, 1), live: ids.size });
  }
  counts.measuring = false;
  const seconds = (nowMs() - t0) / 1000;
  const cpu1 = cpuMs(runtime);
  await inspector?.stopCounting();
  const alarmCalls = alarms ? [...alarms.values()].reduce((a, times) => a + times.length, 0) : undefined;
  // The period between one object's alarms (not quantized by the window's edges).
  const gaps = alarms ? [...alarms.values()].flatMap((times) => times.slice(1).map((t, i) => (t - times[i]) / 1000)) : [];
  const m = clients.length;
  const perHour = (n) => (n === undefined ? undefined : round((n / m) * (3600 / seconds), 1));
  const later = series.slice(1).map((s) => s.live);
  return {
    sessions: m,
    windowS: round(seconds, 1),
    liveObjects: series,
    liveMin: later.length > 0 ? Math.min(...later) : undefined,
    liveMax: later.length > 0 ? Math.max(...later) : undefined,
    // Mean share of the M objects live in a snapshot: the measured "awake" (resident) fraction.
    awakeFraction: later.length > 0 ? round(later.reduce((a, b) => a + b, 0) / later.length / m, 3) : undefined,
    residentThroughout: inspector ? residentAll : undefined,
    constructions: inspector ? seen.size : undefined,
    alarmCalls,
    alarmObjects: alarms?.size,
    alarmsPerSessionHour: perHour(alarmCalls),
    alarmPeriodS: gaps.length > 0 ? summary(gaps) : undefined,
    tokenRequests: counts.tokenRequests,
    tokenRequestsPerSessionHour: perHour(counts.tokenRequests),
    lostConnections: counts.lost,
    lostConnectionsPerSessionHour: perHour(counts.lost),
    connectionLifetimeS: counts.lifetimesMs.length > 0 ? summary(counts.lifetimesMs.map((ms) => ms / 1000)) : undefined,
    runtimeCpuMsPerSessionHour: cpu0 !== undefined && cpu1 !== undefined ? round(((cpu1 - cpu0) / m) * (3600 / seconds), 1) : undefined,
  };
}

/** Counts the frames clients get; a lost connection's lifetime is from its `connected` state frame. */
function frameCounter() {
  const counts = { measuring: false, tokenRequests: 0, lost: 0, lifetimesMs: [] };
  counts.onFrame = (frame, t, c) => {
    if (frame.type === "token_request" && counts.measuring) counts.tokenRequests += 1;
    if (frame.type === "state") {
      const lost = frame.state.lastError === "remote_lost" && c.lastStatus === "connected" && frame.state.status === "reconnecting";
      if (lost && counts.measuring) {
        counts.lost += 1;
        if (c.connectedAt !== undefined) counts.lifetimesMs.push(t - c.connectedAt);
      }
      if (frame.state.status === "connected" && c.lastStatus !== "connected") c.connectedAt = t;
      c.lastStatus = frame.state.status;
    }
  };
  return counts;
}

/** On a stack of its own: the earlier stages' objects keep waking in the shared one (lib/proc.mjs). */
export function runResidency(ctx) {
  return onOwnStack(ctx, "residency", (prod) => measure({ ...ctx, prod }));
}

async function measure(ctx) {
  const { prod, size, say } = ctx;
  const m = size.residencySessions;
  let inspector;
  try {
    inspector = await Inspector.connect(prod);
  } catch (err) {
    say(`residency: no inspector (${err.message}); only the clients' view is measured`);
  }
  try {
    // (a) Connected.
    const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_resident");
    const users = Array.from({ length: m }, (_, i) => `resident-${i}`);
    await createUsers(prod, app, users);
    const counts = frameCounter();
    const tokens = (req) => accessToken(app, req.userId, Math.floor(Date.now() / 1000) + 3600);
    say(`residency: (a) ${m} connected sessions (1 h tokens), ${size.residencyConnectedSeconds} s observed, heap snapshot every ${SNAPSHOT_EVERY_MS / 1000} s, alarm calls counted by breakpoint`);
    const earlier = inspector ? new Set(await inspector.liveSessions()) : new Set();
    const clients = await openMany(m, 32, (i) => new Client(prod, app, users[i], { tokens, onFrame: counts.onFrame }));
    let connected;
    try {
      await waitUntil(() => clients.every((c) => c.state?.status === "connected"), "every session connected", 30_000, 50).catch((err) => {
        throw new Error(`${err.message}: ${describeClients(clients)}`);
      });
      const held = await emulatorConnections(prod, app.appId);
      connected = await observe(ctx, inspector, clients, size.residencyConnectedSeconds * 1000, counts, earlier);
      connected.kaleyraConnectionsAtStart = held;
      connected.kaleyraConnectionsAtEnd = await emulatorConnections(prod, app.appId);
    } finally {
      await endSessions(clients);
    }
    say(`residency: (a) live objects ${connected.liveObjects.map((s) => s.live).join(" ")}; ${connected.residentThroughout} resident throughout, ${connected.constructions} constructions; ${connected.alarmCalls} alarms, ${connected.lostConnections} lost connections, ${connected.tokenRequests} token requests; Kaleyra connections ${connected.kaleyraConnectionsAtStart} -> ${connected.kaleyraConnectionsAtEnd}`);

    // (b) Waiting: reconnecting with a long backoff while the emulator refuses every connection.
    const wapp = await registerApp(prod, ctx.adminToken, "mAppId_bench_waiting", WAITING_POLICY);
    const wusers = Array.from({ length: m }, (_, i) => `waiting-${i}`);
    await createUsers(prod, wapp, wusers);
    const wcounts = frameCounter();
    const wtokens = (req) => accessToken(wapp, req.userId, Math.floor(Date.now() / 1000) + 3600);
    say(`residency: (b) ${m} sessions reconnecting during an emulator outage (refuse), backoff ${WAIT_S} s + 0..2 s jitter, ${size.residencyWaitingSeconds} s observed`);
    await setFaults(prod, { outage: "refuse" });
    const wearlier = inspector ? new Set(await inspector.liveSessions()) : new Set();
    const wclients = [];
    let waiting;
    try {
      wclients.push(...(await openMany(m, 32, (i) => new Client(prod, wapp, wusers[i], { tokens: wtokens, onFrame: wcounts.onFrame }))));
      await waitUntil(() => wclients.every((c) => c.state?.status === "reconnecting" && c.state.nextAttemptAt !== undefined), "every session waiting to reconnect", 30_000, 50).catch((err) => {
        throw new Error(`${err.message}: ${describeClients(wclients)}`);
      });
      waiting = await observe(ctx, inspector, wclients, size.residencyWaitingSeconds * 1000, wcounts, wearlier);
      waiting.kaleyraConnections = await emulatorConnections(prod, wapp.appId);
      waiting.policy = WAITING_POLICY;
    } finally {
      await setFaults(prod, {});
      await endSessions(wclients);
    }
    say(`residency: (b) live objects ${waiting.liveObjects.map((s) => s.live).join(" ")}; ${waiting.constructions} constructions; ${waiting.alarmCalls} alarms on ${waiting.alarmObjects} objects`);

    // The safety check, plus one refresh per token lifetime (1 h tokens here).
    const designConnected = round(3600 / LIVENESS_CHECK_S + 1, 2);
    return {
      connected_resident_objects: connected.residentThroughout,
      connected_live_objects_min: connected.liveMin,
      connected_awake_fraction: connected.awakeFraction,
      connected_alarm_wakeups_per_hour: connected.alarmsPerSessionHour,
      connected_alarm_wakeups_per_hour_design: designConnected,
      connected_alarm_period_s: connected.alarmPeriodS?.p50,
      connected_lost_connections_per_hour: connected.lostConnectionsPerSessionHour,
      connected_connection_lifetime_s: connected.connectionLifetimeS?.p50,
      connected_token_requests_per_hour: connected.tokenRequestsPerSessionHour,
      waiting_live_objects_min: waiting.liveMin,
      waiting_live_objects_max: waiting.liveMax,
      waiting_awake_fraction: waiting.awakeFraction,
      waiting_alarm_wakeups_per_hour: waiting.alarmsPerSessionHour,
      waiting_alarm_period_s: waiting.alarmPeriodS?.p50,
      waiting_constructions: waiting.constructions,
      how: inspector ? "heap snapshots (live objects, identities) and breakpoint-counted UserSession.alarm calls through the runtime's inspector; clients count frames" : "clients only (no inspector)",
      detail: { connected, waiting },
    };
  } finally {
    inspector?.close();
  }
}
