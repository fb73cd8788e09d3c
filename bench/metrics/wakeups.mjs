/**
 * 6. Object wake-ups per idle connected session-hour, and whether an idle session's object
 * hibernates at all.
 *
 * By design a connected session's only duty is the refresh (60 s before its token expires), so
 * with 1 h tokens it should wake once per 3,540 s: 1.017 wake-ups per hour (the computed
 * baseline). Measured here, time-scaled: M connected sessions whose clients only answer token
 * requests, with tokens of TOKEN_LIFETIME_S seconds, so a refresh comes every ~half lifetime; the
 * gaps between refreshes are longer than local workerd's idle eviction (about 10 s), so an object
 * that nothing keeps awake is evicted in every gap and each wake-up constructs it anew.
 *
 * Counted without a hook in the product: heap snapshots of the runtime's isolate every few
 * seconds (lib/inspector.mjs) give the live session objects and their identities; a new identity
 * is one construction (a wake-up from hibernation). Beside it the clients count what they were
 * sent (token requests, state frames, anything else). Wake-ups per refresh = constructions /
 * refreshes; wakeups_per_idle_hour = that x 3600 / 3540 (1 h tokens). Live objects falling to
 * zero between refreshes is the check that nothing (a timer, an outbound socket, a pending call)
 * keeps an idle object awake.
 */
import { accessToken, Client, createUsers, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { Inspector } from "../lib/inspector.mjs";
import { nowMs, sleep, waitUntil } from "../lib/proc.mjs";
import { round } from "../lib/stats.mjs";
import { SHORT_POLICY } from "./refresh.mjs";

const SNAPSHOT_EVERY_MS = 3_000;
const DESIGN_WAKEUPS_PER_HOUR = 3600 / (3600 - 60);

export async function runWakeups(ctx) {
  const { prod, size, say } = ctx;
  const m = size.wakeupSessions;
  const lifetimeS = size.wakeupTokenLifetimeS;
  const windowMs = size.wakeupSeconds * 1000;
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_wakeups", SHORT_POLICY);
  const users = Array.from({ length: m }, (_, i) => `idle-${i}`);
  await createUsers(prod, app, users);
  let inspector;
  try {
    inspector = await Inspector.connect(prod);
  } catch (err) {
    say(`wakeups: no inspector (${err.message}); only the clients' view is measured`);
  }
  const counts = { tokenRequests: 0, refreshes: 0, states: 0, other: 0 };
  let measuring = false;
  const onFrame = (frame, _t, c) => {
    if (!measuring) return;
    if (frame.type === "token_request") counts.tokenRequests += 1;
    else if (frame.type === "state") {
      counts.states += 1;
      if (frame.state.refreshing && !c.wasRefreshing) counts.refreshes += 1;
      c.wasRefreshing = frame.state.refreshing;
    } else if (frame.type !== "resume") counts.other += 1;
  };
  const tokens = (req) => accessToken(app, req.userId, Math.floor(Date.now() / 1000) + lifetimeS);
  say(`wakeups: time-scaled: ${m} idle connected sessions, tokens of ${lifetimeS} s (a refresh every ~${lifetimeS / 2} s), ${size.wakeupSeconds} s observed, heap snapshot every ${SNAPSHOT_EVERY_MS / 1000} s`);
  const clients = await openMany(m, 32, (i) => new Client(prod, app, users[i], { tokens, onFrame }));
  const series = [];
  const seen = new Set();
  let initial = new Set();
  try {
    await waitUntil(() => clients.every((c) => c.state?.status === "connected"), "every session connected", 30_000, 50);
    const t0 = nowMs();
    measuring = true;
    if (inspector) initial = new Set(await inspector.liveSessions());
    series.push({ t: 0, live: initial.size });
    while (nowMs() - t0 < windowMs) {
      await sleep(Math.max(0, SNAPSHOT_EVERY_MS - ((nowMs() - t0) % SNAPSHOT_EVERY_MS)));
      if (!inspector) continue;
      const ids = await inspector.liveSessions();
      for (const id of ids) if (!initial.has(id)) seen.add(id);
      series.push({ t: round((nowMs() - t0) / 1000, 1), live: ids.length });
    }
    measuring = false;
  } finally {
    measuring = false;
    inspector?.close();
    await endSessions(clients);
  }
  const constructions = inspector ? seen.size : undefined;
  const perRefresh = inspector && counts.refreshes > 0 ? constructions / counts.refreshes : undefined;
  const minLive = series.length > 1 ? Math.min(...series.slice(1).map((s) => s.live)) : undefined;
  // "Hibernate" when, between refreshes, (almost) no session object is live any more.
  const hibernates = inspector && minLive !== undefined ? minLive <= Math.max(1, Math.floor(m * 0.05)) : undefined;
  const result = {
    wakeups_per_idle_hour: perRefresh !== undefined ? round(perRefresh * DESIGN_WAKEUPS_PER_HOUR, 3) : undefined,
    wakeups_per_idle_hour_computed: round(DESIGN_WAKEUPS_PER_HOUR, 3),
    wakeups_per_refresh: perRefresh !== undefined ? round(perRefresh, 3) : undefined,
    idle_objects_hibernate: hibernates,
    how: inspector ? "measured (time-scaled; constructions counted from heap snapshots) and extrapolated to 1 h tokens" : "computed (no inspector)",
    timeScaled: { tokenLifetimeS: lifetimeS, retryPolicy: SHORT_POLICY },
    detail: {
      sessions: m,
      windowS: size.wakeupSeconds,
      refreshes: counts.refreshes,
      constructions,
      tokenRequests: counts.tokenRequests,
      tokenRequestsPerRefresh: counts.refreshes > 0 ? round(counts.tokenRequests / counts.refreshes, 3) : undefined,
      stateFramesPerRefresh: counts.refreshes > 0 ? round(counts.states / counts.refreshes, 3) : undefined,
      otherFrames: counts.other,
      liveObjects: series,
      minLiveBetweenRefreshes: minLive,
    },
  };
  say(`wakeups: ${counts.refreshes} refreshes, ${constructions ?? "?"} object constructions (wake-ups from hibernation) -> ${result.wakeups_per_refresh ?? "?"} per refresh; live objects over time: ${series.map((s) => s.live).join(" ")}; other frames ${counts.other}`);
  return result;
}
