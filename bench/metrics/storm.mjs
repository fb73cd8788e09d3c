/**
 * 3. Reconnect storm. N token sessions are connected; Kaleyra goes down and drops every live
 * connection at the same instant (as an outage, or a connector restart, would), so every session
 * enters the reconnect schedule together; the outage ends after OUTAGE_MS and the sessions come
 * back on their own schedule.
 *
 * How the outage hits every session at once: the emulator is put in `outage: "refuse"` (every
 * upgrade answers 503), then drops every connection of the app (`POST /control/connections/drop`,
 * t = 0): each connector reports the loss, and each session's reconnect attempt 1 (at once) fails.
 * The outage ends (faults cleared) at t = OUTAGE_MS. (Before issue 22 this stage failed every
 * session's refresh call instead; once refreshes went over the live connection an HTTP outage no
 * longer touched connected sessions, and the stage measured nothing.)
 *
 * What is counted: every reconnect attempt starts with a token request to a client, so the clients
 * time-stamp every `token_request` (one per remote call); the emulator time-stamps every CONNECT
 * (`GET /control/connects?since=`), which during the outage are none (the upgrades are refused)
 * and after it are the recovery's herd. Herd factor = the most requests in any 100 ms window
 * (sliding) / the mean per 100 ms over the storm (t = 0 until the last session is connected again);
 * CONNECTs: the peak per 100 ms beside the ideal's.
 *
 * Same run with jitterMaxMs 0 (the unjittered baseline), and the ideal: the same schedule computed
 * exactly (discrete convolution of the uniform jitters) with zero processing time, as expected
 * requests per window. The seed's schedule is kept at its real delays (3 s, 9 s, ... + 0..2 s
 * jitter), only the outage is short, so the storm covers the first waves, the steepest ones.
 */
import { accessToken, call, Client, createUsers, describeClients, endSessions, openMany, registerApp, setFaults } from "../lib/kaleyra.mjs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { nowMs, sleep, waitUntil } from "../lib/proc.mjs";
import { herd, round, summary, windowCounts } from "../lib/stats.mjs";

const WINDOW_MS = 100;
const SEED_RECONNECT = [0, 3_000, 9_000, 27_000, 60_000, 120_000];

/** The schedule of one session from the instant its remote call failed: requests per ms (expected). */
export function idealStorm({ sessions, outageMs, reconnectDelaysMs, steadyMs, jitterMaxMs }) {
  const delay = (i) => reconnectDelaysMs[i] ?? steadyMs;
  // Horizon: enough for every session to reach an attempt at or after the outage's end.
  let horizon = 0;
  for (let i = 0, t = 0; t < outageMs; i++) {
    t += delay(i + 1) + jitterMaxMs;
    horizon = t;
  }
  horizon += 1;
  const requests = new Float64Array(horizon);
  const retries = new Float64Array(horizon);
  const success = new Float64Array(horizon);
  let attempt = new Float64Array(horizon);
  attempt[0] = 1; // reconnect attempt 1: at once, no jitter
  for (let i = 1; ; i++) {
    let failing = 0;
    const next = new Float64Array(horizon);
    // Uniform jitter over J + 1 whole milliseconds, by a running sum.
    const width = jitterMaxMs + 1;
    const shift = delay(i);
    let window = 0;
    for (let t = 0; t < horizon; t++) {
      const p = attempt[t];
      requests[t] += p;
      if (i > 1) retries[t] += p;
      if (t >= outageMs) success[t] += p;
      else failing += p;
    }
    if (failing < 1e-12) break;
    // next[t] = sum over s < outageMs of attempt[s] * P(shift + U = t - s)
    for (let t = 0; t < horizon; t++) {
      const inS = t - shift;
      if (inS >= 0 && inS < outageMs) window += attempt[inS];
      const outS = t - shift - width;
      if (outS >= 0 && outS < outageMs) window -= attempt[outS];
      next[t] = window / width;
    }
    attempt = next;
  }
  // The storm ends when the last of N sessions is connected: the N/(N+1) quantile of success times.
  let cum = 0;
  let end = horizon - 1;
  const q = sessions / (sessions + 1);
  for (let t = 0; t < horizon; t++) {
    cum += success[t];
    if (cum >= q) {
      end = t + 1;
      break;
    }
  }
  const factor = (series) => {
    let peak = 0;
    let run = 0;
    for (let t = 0; t < end; t++) {
      run += series[t];
      if (t >= WINDOW_MS) run -= series[t - WINDOW_MS];
      peak = Math.max(peak, run);
    }
    const total = series.slice(0, end).reduce((s, v) => s + v, 0);
    const mean = (total * WINDOW_MS) / end;
    return { factor: peak / mean, peakPerWindow: peak * sessions, meanPerWindow: mean * sessions, requestsPerSession: total };
  };
  const bound = scheduleBound({ outageMs, reconnectDelaysMs, steadyMs, jitterMaxMs });
  const retriesOnly = factor(retries);
  // Every attempt at or after the outage's end succeeds: those are the CONNECTs Kaleyra sees.
  const connects = factor(success);
  return { ...factor(requests), retriesFactor: retriesOnly.factor, retriesPeakPerWindow: retriesOnly.peakPerWindow, connectsPeakPerWindow: connects.peakPerWindow, expectedEndMs: end, boundMs: bound };
}

/** Latest time (processing aside) by which every session has made an attempt at or after the outage's end. */
export function scheduleBound({ outageMs, reconnectDelaysMs, steadyMs, jitterMaxMs }) {
  let min = 0;
  let max = 0;
  for (let i = 1; min < outageMs; i++) {
    const d = reconnectDelaysMs[i] ?? steadyMs;
    min += d;
    max += d + jitterMaxMs;
  }
  return max;
}

async function storm(ctx, app, label) {
  const { prod, size, say } = ctx;
  const n = size.stormSessions;
  const outageMs = ctx.full ? 30_000 : 10_000;
  const users = Array.from({ length: n }, (_, i) => `storm-${i}`);
  await createUsers(prod, app, users);
  let phase = "connect";
  const requests = [];
  const tokens = (req) => accessToken(app, req.userId, Math.floor(Date.now() / 1000) + 3_600);
  const onFrame = (frame, t, client) => {
    if (frame.type === "token_request" && phase === "storm") requests.push({ t, reconnectAttempt: client.state?.reconnectAttempt ?? 0, user: client.userId });
    if (frame.type === "state" && phase === "storm") {
      if (frame.state.status === "reconnecting") client.lost = client.lost ?? t;
      if (frame.state.status === "connected" && client.lost !== undefined) client.back = client.back ?? t;
    }
  };
  await setFaults(prod, {});
  say(`storm: ${label}: connecting ${n} sessions`);
  const clients = await openMany(n, 32, (i) => new Client(prod, app, users[i], { tokens, onFrame }));
  try {
    await waitUntil(() => clients.every((c) => c.state?.status === "connected"), "every session connected", 60_000, 50).catch((err) => {
      throw new Error(`${err.message}: ${describeClients(clients)}`);
    });
    await setFaults(prod, { outage: "refuse" });
    phase = "storm";
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const since = Date.now();
    const t0 = nowMs();
    const dropped = await call(prod, "POST", "/emulator/control/connections/drop", { appId: app.appId });
    say(`storm: ${label}: outage "refuse" and every connection dropped (${dropped.json?.dropped}) for ${outageMs / 1000} s`);
    await sleep(Math.max(0, t0 + outageMs - nowMs()));
    const t1 = nowMs();
    await setFaults(prod, {});
    const bound = scheduleBound({ outageMs, reconnectDelaysMs: app.retryPolicy.reconnectDelaysMs, steadyMs: app.retryPolicy.reconnectSteadyDelayMs, jitterMaxMs: app.retryPolicy.jitterMaxMs });
    say(`storm: ${label}: outage over; waiting for every session (schedule bound ${bound / 1000} s after the failure)`);
    await waitUntil(() => clients.every((c) => c.back !== undefined), "every session back", bound + 20_000, 50).catch(() => {});
    lag.disable();
    const back = clients.filter((c) => c.back !== undefined);
    const statusAtEnd = {};
    for (const c of clients) {
      const k = `${c.state?.status}${c.state?.refreshing ? "+refreshing" : ""}${c.closed ? "+closed" : ""}`;
      statusAtEnd[k] = (statusAtEnd[k] ?? 0) + 1;
    }
    if (back.length < n) say(`storm: ${label}: only ${back.length}/${n} back; states ${JSON.stringify(statusAtEnd)}; e.g. ${JSON.stringify(clients.find((c) => c.back === undefined)?.state)} error ${clients.find((c) => c.error)?.error}`);
    if (back.length === 0) throw new Error("no session came back after the outage");
    const tEnd = Math.max(...back.map((c) => c.back));
    const inStorm = requests.filter((r) => r.t >= t0 && r.t <= tEnd);
    const all = herd(inStorm.map((r) => r.t), t0, tEnd + 1, WINDOW_MS);
    const retries = herd(inStorm.filter((r) => r.reconnectAttempt >= 2).map((r) => r.t), t0, tEnd + 1, WINDOW_MS);
    const connectsAt = (await call(prod, "GET", `/emulator/control/connects?appId=${app.appId}&since=${since}`)).json.times ?? [];
    const connects = herd(connectsAt, since, since + (tEnd - t0) + 1, WINDOW_MS);
    const byAttempt = {};
    for (const r of inStorm) byAttempt[r.reconnectAttempt] = (byAttempt[r.reconnectAttempt] ?? 0) + 1;
    const result = {
      sessions: n,
      outageMs,
      windowMs: WINDOW_MS,
      retryPolicy: app.retryPolicy,
      dropped: dropped.json?.dropped,
      herdFactor: round(all.factor),
      peakPerWindow: all.peak,
      meanPerWindow: round(all.meanPerWindow),
      requests: all.requests,
      requestsByReconnectAttempt: byAttempt,
      retriesOnly: { herdFactor: round(retries.factor), peakPerWindow: retries.peak, requests: retries.requests },
      connects: { total: connects.requests, peakPerWindow: connects.peak, perWindow: windowCounts(connectsAt, since, since + (tEnd - t0) + 1, WINDOW_MS) },
      perWindow: windowCounts(inStorm.map((r) => r.t), t0, tEnd + 1, WINDOW_MS),
      lostDetectedMs: summary(clients.filter((c) => c.lost !== undefined).map((c) => c.lost - t0)),
      allBackMs: round(tEnd - t0, 1),
      afterOutageEndMs: round(tEnd - t1, 1),
      scheduleBoundMs: bound,
      sessionsBack: back.length,
      statusAtEnd,
      benchEventLoopDelayMs: { p99: round(lag.percentile(99) / 1e6, 1), max: round(lag.max / 1e6, 1) },
    };
    say(`storm: ${label}: herd factor ${result.herdFactor} (peak ${all.peak} token requests in ${WINDOW_MS} ms, mean ${result.meanPerWindow}); CONNECTs peak ${connects.peak} per ${WINDOW_MS} ms; all back ${round(result.allBackMs / 1000, 2)} s after the failure (bound ${bound / 1000} s), ${back.length}/${n}`);
    return result;
  } finally {
    phase = "done";
    await setFaults(prod, {}).catch(() => {});
    await endSessions(clients);
  }
}

export async function runStorm(ctx) {
  const { prod, say } = ctx;
  const policy = { tokenAttemptDelaysMs: [0, 1_000, 4_000], tokenAttemptTimeoutMs: 15_000, reconnectDelaysMs: SEED_RECONNECT, reconnectSteadyDelayMs: 60_000 };
  const jittered = await registerApp(prod, ctx.adminToken, "mAppId_bench_storm", { ...policy, jitterMaxMs: 2_000 });
  const flat = await registerApp(prod, ctx.adminToken, "mAppId_bench_storm_nojitter", { ...policy, jitterMaxMs: 0 });
  say(`storm: the seed's reconnect schedule at its real delays (apps registered with retryPolicy ${JSON.stringify({ ...policy, jitterMaxMs: "2000 | 0" })}); short outage`);
  const withJitter = await storm(ctx, jittered, "jitter 0..2 s");
  say("storm: 12 s pause, so the first run's objects are evicted before the second run");
  await sleep(12_000);
  const without = await storm(ctx, flat, "jitter 0 (baseline)");
  const ideal = idealStorm({ sessions: ctx.size.stormSessions, outageMs: withJitter.outageMs, reconnectDelaysMs: SEED_RECONNECT, steadyMs: 60_000, jitterMaxMs: 2_000 });
  const idealFlat = idealStorm({ sessions: ctx.size.stormSessions, outageMs: withJitter.outageMs, reconnectDelaysMs: SEED_RECONNECT, steadyMs: 60_000, jitterMaxMs: 0 });
  say(`storm: ideal (exact schedule, zero processing time): herd factor ${round(ideal.factor)} with jitter, ${round(idealFlat.factor)} without`);
  return {
    herd_factor: withJitter.herdFactor,
    herd_factor_unjittered: without.herdFactor,
    herd_factor_ideal: round(ideal.factor),
    herd_factor_ideal_unjittered: round(idealFlat.factor),
    herd_factor_retries: withJitter.retriesOnly.herdFactor,
    herd_factor_retries_unjittered: without.retriesOnly.herdFactor,
    herd_factor_retries_ideal: round(ideal.retriesFactor),
    herd_factor_retries_ideal_unjittered: round(idealFlat.retriesFactor),
    storm_peak_connects_per_100ms: withJitter.connects.peakPerWindow,
    storm_peak_connects_per_100ms_unjittered: without.connects.peakPerWindow,
    storm_peak_connects_per_100ms_ideal: round(ideal.connectsPeakPerWindow),
    all_back_ms: withJitter.allBackMs,
    all_back_ms_unjittered: without.allBackMs,
    schedule_bound_ms: withJitter.scheduleBoundMs,
    detail: { jittered: withJitter, unjittered: without, ideal: roundAll(ideal), idealUnjittered: roundAll(idealFlat) },
  };
}

const roundAll = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v) : v]));
