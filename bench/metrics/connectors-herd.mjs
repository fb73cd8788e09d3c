/**
 * The connectors stage's restart herd: every connector that holds users restarts at once (the
 * local control, as a deploy or a crash); every session is told its connection is lost and runs
 * the seed's reconnect schedule. Counted: when each client was told and was back (state frames),
 * by which reconnect attempt, and when each CONNECT reached the emulator.
 */
import { call } from "../lib/kaleyra.mjs";
import { nowMs, waitUntil } from "../lib/proc.mjs";
import { herd, round, summary } from "../lib/stats.mjs";

async function connectTimes(stack, apps, sinceMs) {
  const times = [];
  for (const app of apps) times.push(...(await call(stack, "GET", `/emulator/control/connects?appId=${app.appId}&since=${Math.floor(sinceMs)}`)).json.times);
  return times.sort((a, b) => a - b);
}

export async function restartHerd(ctx, apps, clients, t, busy) {
  const { prod } = ctx;
  const lost0 = t.lostAt.length;
  const back0 = t.backAt.length;
  const since = Date.now();
  const t0 = nowMs();
  for (const s of busy) await call(prod, "POST", "/dev/connectors/restart", { environment: "sandbox", region: "eu", shard: s.shard });
  await waitUntil(() => t.backAt.length - back0 >= clients.length, "every session back after the restart", 120_000, 50).catch(() => {});
  const lost = t.lostAt.slice(lost0).map((x) => (x - t0) / 1000);
  const back = t.backAt.slice(back0).map((x) => (x - t0) / 1000);
  const attempts = {};
  for (const a of t.backAttempt.slice(back0)) attempts[a] = (attempts[a] ?? 0) + 1;
  const times = await connectTimes(prod, apps, since);
  const end = since + Math.max(1, ...back) * 1000 + 1;
  const per100 = herd(times, since, end, 100);
  const perS = herd(times, since, end, 1_000);
  return {
    sessions: clients.length,
    back: back.length,
    lost_reported_p50_s: summary(lost).p50,
    lost_reported_max_s: summary(lost).max,
    all_back_s: back.length > 0 ? round(Math.max(...back), 2) : undefined,
    back_by_reconnect_attempt: attempts,
    // The seed's reconnect attempt 1 runs at once with no jitter, so its ideal puts every CONNECT in one window.
    ideal_peak_connects_per_100ms: clients.length,
    peak_connects_per_100ms: per100.peak,
    peak_connects_per_s: perS.peak,
    connects: times.length,
    // Found within the watchdog (10 s), then reconnect attempt 1 at once, its open bounded by the attempt timeout (15 s).
    schedule_bound_s: 10 + 15,
  };
}
