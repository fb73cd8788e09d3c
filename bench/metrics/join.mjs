/**
 * Issue 17's figures: what a first connect and a join with a token cost at Kaleyra, and the times
 * a first connect's provider is asked.
 *
 * join: N users each get a connected session (an owner proven by ticket, its token answered at
 * once), then a second socket of each user proves itself with a token (askToken; the token
 * request answered at once). Kaleyra CONNECTs are counted where Kaleyra would count them: the
 * emulator's `GET /control/connects?appId=` before and after each phase. Goal: 1 per first connect,
 * 0 per join (the joining token goes to the live connection as `switchboard:access_token:update`).
 *
 * first: a first connect (no session running) whose provider fails at once, or never answers,
 * under the seed's policy and a scaled one: the arrival times of the prover's token requests (its
 * provider calls), each one's wait after the previous attempt ended (a failure's answer, or the
 * attempt's timeout) and the wait the policy asks for (delay, plus jitter 0..jitterMax).
 */
import { accessToken, Client, createUsers, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { nowMs, sleep, waitUntil } from "../lib/proc.mjs";
import { round, summary } from "../lib/stats.mjs";

const SCALED = {
  tokenAttemptDelaysMs: [0, 100, 400],
  tokenAttemptTimeoutMs: 1_500,
  reconnectDelaysMs: [0, 300, 900, 2_700, 6_000, 12_000],
  reconnectSteadyDelayMs: 6_000,
  jitterMaxMs: 200,
};
const DEFAULT = { tokenAttemptDelaysMs: [0, 1_000, 4_000], tokenAttemptTimeoutMs: 15_000, reconnectDelaysMs: [0, 3_000, 9_000, 27_000, 60_000, 120_000], reconnectSteadyDelayMs: 60_000, jitterMaxMs: 2_000 };

async function connects(stack, app) {
  const res = await fetch(`${stack.base}/emulator/control/connects?appId=${app.appId}`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()).connects;
}

export async function runJoin(ctx) {
  const { prod, say } = ctx;
  const n = ctx.full ? 50 : 20;
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_join");
  const users = Array.from({ length: n }, (_, i) => `join-${i}`);
  await createUsers(prod, app, users);
  const token = (_req, c) => accessToken(app, c.userId, Math.floor(Date.now() / 1000) + 3_600);
  const c0 = await connects(prod, app);
  const owners = await openMany(n, 8, (i) => new Client(prod, app, users[i], { tokens: token }));
  await waitUntil(() => owners.every((c) => c.state?.status === "connected"), "owners connected", 60_000, 50);
  const c1 = await connects(prod, app);
  const joiners = await openMany(n, 8, (i) => new Client(prod, app, users[i], { tokens: token, proveWith: "token" }), { timeoutMs: 60_000 });
  const joined = joiners.filter((c) => c.state?.status === "connected");
  await sleep(500);
  const c2 = await connects(prod, app);
  const latency = summary(joined.map((c) => c.tFirstState - c.tOpenStart));
  const result = {
    sessions: n,
    joined: joined.length,
    connects_per_first_connect: round((c1 - c0) / n, 2),
    connects_per_token_join: round((c2 - c1) / n, 2),
    token_join_p50_ms: latency.p50,
    token_join_p99_ms: latency.p99,
  };
  say(`join: ${joined.length}/${n} joined with a token; Kaleyra CONNECTs per first connect ${result.connects_per_first_connect}, per token join ${result.connects_per_token_join}; join p50 ${latency.p50} ms, p99 ${latency.p99} ms`);
  await endSessions([...owners, ...joiners]);
  return result;
}

/** The wait the policy asks for before each call: [base, base + jitterMax] (the first of a table has none). */
function expectedWaits(policy, calls) {
  let reconnect = 0;
  return calls.map((c, i) => {
    if (i === 0) return [0, 0];
    if (c.attempt > 1) {
      const base = policy.tokenAttemptDelaysMs[c.attempt - 1];
      return [base, base + policy.jitterMaxMs];
    }
    reconnect += 1;
    if (reconnect === 1) return [0, 0];
    const base = policy.reconnectDelaysMs[reconnect - 1] ?? policy.reconnectSteadyDelayMs;
    return [base, base + policy.jitterMaxMs];
  });
}

async function firstConnect(prod, app, userId, provider, policy, seconds) {
  const calls = [];
  const client = new Client(prod, app, userId, {
    proveWith: "token",
    onFrame: (frame, t, c) => {
      if (frame.type !== "token_request") return;
      calls.push({ t, attempt: frame.attempt });
      if (provider === "failing") c.send({ type: "token_failed", requestId: frame.requestId });
    },
  });
  void client.open();
  await sleep(seconds * 1_000);
  const t0 = calls[0]?.t ?? nowMs();
  const ends = calls.map((c) => (provider === "failing" ? c.t : c.t + policy.tokenAttemptTimeoutMs));
  const waits = calls.map((c, i) => (i === 0 ? 0 : c.t - ends[i - 1]));
  const expected = expectedWaits(policy, calls);
  // Loopback and alarm latency: a wait may be this much longer than the policy's upper bound.
  const slack = 250;
  const within = waits.filter((w, i) => w >= expected[i][0] - 5 && w <= expected[i][1] + slack).length;
  client.close();
  return {
    calls_s: calls.map((c) => round((c.t - t0) / 1_000, 2)),
    attempts: calls.map((c) => c.attempt),
    waits_ms: waits.map((w) => Math.round(w)),
    expected_waits_ms: expected,
    within_policy: `${within}/${calls.length}`,
    one_socket: !client.closed,
    last_view: client.proof,
  };
}

export async function runFirst(ctx) {
  const { prod, say } = ctx;
  const apps = { default: await registerApp(prod, ctx.adminToken, "mAppId_bench_first"), scaled: await registerApp(prod, ctx.adminToken, "mAppId_bench_first_scaled", SCALED) };
  await createUsers(prod, apps.default, ["first-failing", "first-silent"]);
  await createUsers(prod, apps.scaled, ["first-failing", "first-silent"]);
  // Long enough for the seed's reconnect schedule to show (a silent provider's cycle takes 52 s).
  const runs = await Promise.all([
    firstConnect(prod, apps.default, "first-failing", "failing", DEFAULT, ctx.full ? 90 : 40),
    firstConnect(prod, apps.default, "first-silent", "silent", DEFAULT, ctx.full ? 150 : 95),
    firstConnect(prod, apps.scaled, "first-failing", "failing", SCALED, 12),
    firstConnect(prod, apps.scaled, "first-silent", "silent", SCALED, 12),
  ]);
  const [defaultFailing, defaultSilent, scaledFailing, scaledSilent] = runs;
  for (const [name, r] of Object.entries({ defaultFailing, defaultSilent, scaledFailing, scaledSilent })) {
    say(`first: ${name}: provider called at ${r.calls_s.join(", ")} s (attempts ${r.attempts.join(",")}); ${r.within_policy} waits within the policy; one socket: ${r.one_socket}`);
  }
  return { default_failing: defaultFailing, default_silent: defaultSilent, scaled_failing: scaledFailing, scaled_silent: scaledSilent };
}
