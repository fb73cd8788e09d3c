/**
 * 13. Waking a closed app (issue 21, docs/push.md): how fast a call reaches the push service for a
 * user with no client open, and how many pushes one app sustains.
 *
 * - Event to push: users connect (emulator tokens), give their session a subscription of the local
 *   push service (dev/local-push.ts, which checks the VAPID JWT and decrypts every push), then close
 *   their socket. The emulator then sends `call:incoming` on one user's Kaleyra connection at a
 *   time (POST /emulator/control/relay/events); the latency is from just before that control call
 *   (this process's clock) to the push service's arrival time of the push (the runtime's clock: the
 *   same machine's). It includes the control call's loopback hop, the session's wake rules, the
 *   encryption and VAPID signing, and the push service's own checks and decryption. Users take
 *   turns so no user goes past its rate limit (5 wakes at once).
 * - Pushes per second: users with several subscriptions each are rung all at once; the rate is the
 *   pushes that arrived over the time from the first ring to the last arrival, wave after wave.
 * Both sides' Web Crypto (the sessions' encryption and signing, the push service's verification and
 * decryption) share this machine's cores.
 */
import { connectClient, localSubscription, pushLog, registerWakeApp, ringRelayed, sleep, subscribeClient, until } from "../../scripts/lib/wake-flow.mjs";
import { percentile, round } from "../lib/stats.mjs";

/** A user whose session runs with no client attached, and its subscriptions. */
async function closedUser(base, app, userId, subscriptions) {
  const client = await connectClient(base, app, userId);
  const subs = [];
  for (let i = 0; i < subscriptions; i++) {
    const sub = await localSubscription(base, app);
    await subscribeClient(client, app, sub);
    subs.push(sub);
  }
  await client.close();
  return { userId, subs };
}

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

export async function runWake(ctx) {
  const { prod, size, say, adminToken } = ctx;
  const base = prod.base;
  const app = await registerWakeApp(base, adminToken, `mAppId_bench_wake_${Date.now().toString(36)}`);

  const latUsers = await inBatches(Array.from({ length: size.wakeLatencyUsers }, (_, i) => `wake-lat-${i}`), 8, (id) => closedUser(base, app, id, 1));
  await sleep(500);
  say(`wake: ${latUsers.length} users with a subscription and no client; ${size.wakeLatencyRings} rings, one at a time`);
  const latency = [];
  for (let i = 0; i < size.wakeLatencyRings; i++) {
    const user = latUsers[i % latUsers.length];
    const callId = `lat-${i}`;
    const t0 = Date.now();
    await ringRelayed(base, app, user.userId, callId);
    const push = await until(`the push of ${callId}`, async () => (await pushLog(base)).received.find((r) => r.subscriptionId === user.subs[0].id && r.payload.includes(`"${callId}"`)), 10_000, 5);
    latency.push(push.at - t0);
  }

  const tpUsers = await inBatches(Array.from({ length: size.wakeThroughputUsers }, (_, i) => `wake-tp-${i}`), 8, (id) => closedUser(base, app, id, size.wakeSubscriptionsPerUser));
  await sleep(500);
  const perWave = tpUsers.length * size.wakeSubscriptionsPerUser;
  say(`wake: ${tpUsers.length} users x ${size.wakeSubscriptionsPerUser} subscriptions rung at once, ${size.wakeWaves} waves of ${perWave} pushes`);
  const rates = [];
  for (let wave = 0; wave < size.wakeWaves; wave++) {
    const t0 = Date.now();
    await Promise.all(tpUsers.map((u) => ringRelayed(base, app, u.userId, `tp-${wave}-${u.userId}`)));
    const arrived = await until(`${perWave} pushes of wave ${wave}`, async () => {
      const fresh = (await pushLog(base)).received.filter((r) => r.payload.includes(`"tp-${wave}-`));
      return fresh.length >= perWave && fresh;
    }, 60_000, 20);
    const last = Math.max(...arrived.map((r) => r.at));
    rates.push((perWave * 1_000) / Math.max(1, last - t0));
  }
  const refused = (await pushLog(base)).refused.length;
  return {
    wake_event_to_push_p50_ms: round(percentile(latency, 50), 1),
    wake_event_to_push_p99_ms: round(percentile(latency, 99), 1),
    wake_pushes_per_second: round(Math.min(...rates), 0),
    detail: { rings: latency.length, users: latUsers.length, throughput: { users: tpUsers.length, subscriptionsPerUser: size.wakeSubscriptionsPerUser, waves: rates.map((r) => round(r, 0)) }, pushServiceRefused: refused },
  };
}
