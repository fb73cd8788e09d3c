/**
 * 5. Schedule precision: how late token attempts start compared with the time the session
 * announced. N token sessions whose clients never answer, so every session runs the token-retry
 * and reconnect schedules for ever: each attempt times out, and the next one is announced in the
 * state frame (`nextAttemptAt`). Lateness = arrival of the next `token_request` at the client -
 * `nextAttemptAt`: the alarm's own delay, the transition, the storage write, the frame's way
 * through wrangler's proxy and the client's event loop. Server and client share the machine's
 * clock.
 *
 * Time-scaled: the seed's policy at 1/5 (timeout 3 s, waits 0.2 s / 0.8 s, reconnect 0.6 s, 1.8 s,
 * ..., jitter 0..0.4 s), so many attempts fit in a short run; this is about five times the alarm
 * rate of the real policy for the same number of sessions.
 *
 * Baseline: the peer's AlarmProbe, a bare Durable Object alarm loop on the same kind of workerd,
 * as many objects, each re-arming at a random 1..3 s (a similar alarm rate), measured the same
 * way: arrival of its `fired` frame - the time it armed for.
 */
import { Client, createUsers, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { nowMs, sleep } from "../lib/proc.mjs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { round, summary } from "../lib/stats.mjs";

export const SCALED_POLICY = {
  tokenAttemptDelaysMs: [0, 200, 800],
  tokenAttemptTimeoutMs: 3_000,
  reconnectDelaysMs: [0, 600, 1_800, 5_400, 12_000, 24_000],
  reconnectSteadyDelayMs: 12_000,
  jitterMaxMs: 400,
};

function loopLag() {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return () => {
    h.disable();
    return { p50: round(h.percentile(50) / 1e6, 1), p99: round(h.percentile(99) / 1e6, 1), max: round(h.max / 1e6, 1) };
  };
}

async function product(ctx) {
  const { prod, size, say } = ctx;
  const n = size.scheduleSessions;
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_schedule", SCALED_POLICY);
  const users = Array.from({ length: n }, (_, i) => `sched-${i}`);
  await createUsers(prod, app, users);
  let measuring = false;
  const late = [];
  const worstPerSecond = [];
  let tStart = 0;
  const onFrame = (frame, t, c) => {
    if (frame.type === "state" && frame.state.nextAttemptAt !== undefined) c.announced = frame.state.nextAttemptAt;
    if (frame.type === "token_request") {
      if (measuring && c.announced !== undefined) {
        late.push(t - c.announced);
        const sec = Math.floor((t - tStart) / 1000);
        worstPerSecond[sec] = Math.max(worstPerSecond[sec] ?? 0, round(t - c.announced, 1));
      }
      c.announced = undefined;
    }
  };
  say(`schedule: kaleyra-edge: ${n} sessions whose clients never answer; time-scaled policy ${JSON.stringify(SCALED_POLICY)}`);
  const clients = await openMany(n, 32, (i) => new Client(prod, app, users[i], { tokens: () => null, onFrame }));
  const stop = loopLag();
  let lag;
  try {
    await sleep(2_000);
    tStart = nowMs();
    measuring = true;
    await sleep(size.scheduleSeconds * 1000);
    measuring = false;
  } finally {
    lag = stop();
    await endSessions(clients);
  }
  const s = summary(late);
  say(`schedule: kaleyra-edge: ${s.n} attempts, late p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (bench event loop p99 ${lag.p99} ms)`);
  return { sessions: n, seconds: size.scheduleSeconds, retryPolicy: SCALED_POLICY, lateMs: s, earlyCount: late.filter((v) => v < 0).length, worstPerSecondMs: worstPerSecond, benchEventLoopDelayMs: lag };
}

async function baseline(ctx) {
  const { peer, size, say } = ctx;
  const n = size.scheduleSessions;
  let measuring = false;
  const late = [];
  const inRuntime = [];
  say(`schedule: baseline: ${n} bare Durable Object alarm loops (peer AlarmProbe, re-armed at 1..3 s)`);
  const sockets = [];
  for (let i = 0; i < n; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, n - i) }, (_, j) => new Promise((resolve) => {
        const ws = new WebSocket(`${peer.wsBase}/alarm/probe-${i + j}?minMs=1000&maxMs=3000`);
        sockets.push(ws);
        ws.addEventListener("open", () => resolve());
        ws.addEventListener("close", () => resolve());
        ws.addEventListener("message", (ev) => {
          const t = nowMs();
          const f = JSON.parse(ev.data);
          if (f.type === "fired" && measuring && typeof f.scheduled === "number") {
            late.push(t - f.scheduled);
            inRuntime.push(f.firedAt - f.scheduled);
          }
        });
      })),
    );
  }
  const stop = loopLag();
  await sleep(2_000);
  measuring = true;
  await sleep(size.scheduleSeconds * 1000);
  measuring = false;
  const lag = stop();
  for (const ws of sockets) ws.close();
  await sleep(1_000);
  const s = summary(late);
  say(`schedule: baseline: ${s.n} alarms, late p50 ${s.p50} ms, p99 ${s.p99} ms (alarm handler start - scheduled: p99 ${summary(inRuntime).p99} ms)`);
  return { objects: n, seconds: size.scheduleSeconds, lateMs: s, handlerStartLateMs: summary(inRuntime), benchEventLoopDelayMs: lag };
}

export async function runSchedule(ctx) {
  const p = await product(ctx);
  const b = await baseline(ctx);
  return {
    schedule_late_p50_ms: p.lateMs.p50,
    schedule_late_p99_ms: p.lateMs.p99,
    baseline_alarm_late_p50_ms: b.lateMs.p50,
    baseline_alarm_late_p99_ms: b.lateMs.p99,
    timeScaled: { retryPolicy: SCALED_POLICY, factor: 0.2 },
    detail: { product: p, baseline: b },
  };
}
