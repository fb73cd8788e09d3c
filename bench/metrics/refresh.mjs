/**
 * 4. Token requests per refresh with k = 1, 2, 5, 10 clients (sockets) of one user. The goal is
 * exactly 1: the session asks one client per refresh, whatever the number of tabs.
 *
 * Time-scaled: every token the clients give lives TOKEN_LIFETIME_S seconds (signed here with the
 * emulator app's secret), so the session refreshes at half the remaining lifetime (core/refresh.ts:
 * 60 s before expiry, or half the remaining lifetime when shorter), about every 3 s instead of
 * once per token lifetime. Every client answers every token request it gets at once. A refresh
 * request is a `token_request` that carries `expiresAt`; refreshes are counted from the state
 * frames (`refreshing` turning true). The baseline is the SDK-in-every-tab model, where each of k
 * tabs refreshes its own session: k requests per refresh (computed, by construction).
 */
import { accessToken, Client, createUsers, describeClients, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { sleep, waitUntil } from "../lib/proc.mjs";
import { round } from "../lib/stats.mjs";

const TOKEN_LIFETIME_S = 6;
export const SHORT_POLICY = { tokenAttemptDelaysMs: [0, 100, 400], tokenAttemptTimeoutMs: 1_500, reconnectDelaysMs: [0, 300, 900, 2_700, 6_000, 12_000], reconnectSteadyDelayMs: 6_000, jitterMaxMs: 200 };

export async function runRefresh(ctx) {
  const { prod, size, say } = ctx;
  const ks = [1, 2, 5, 10];
  const usersPerK = size.refreshUsersPerK;
  const cycles = size.refreshCycles;
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_refresh", SHORT_POLICY);
  say(`refresh: time-scaled (tokens live ${TOKEN_LIFETIME_S} s, retry policy ${JSON.stringify(SHORT_POLICY)}); k = ${ks.join(", ")}, ${usersPerK} users each, ${cycles} refreshes per user`);
  const users = ks.flatMap((k) => Array.from({ length: usersPerK }, (_, u) => ({ k, userId: `refresh-k${k}-u${u}` })));
  await createUsers(prod, app, users.map((u) => u.userId));

  const perUser = new Map(users.map((u) => [u.userId, { k: u.k, refreshRequests: 0, initialRequests: 0, refreshes: 0, wasRefreshing: false, other: 0 }]));
  const token = (req) => accessToken(app, req.userId, Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S);
  const onFrame = (frame, _t, client) => {
    const u = perUser.get(client.userId);
    if (frame.type === "token_request") {
      if (frame.expiresAt !== undefined) u.refreshRequests += 1;
      else u.initialRequests += 1;
    }
    // Refreshes are counted once per user, on the user's first socket (every socket hears the state).
    if (frame.type === "state" && client.first) {
      const refreshing = frame.state.refreshing === true;
      if (refreshing && !u.wasRefreshing) u.refreshes += 1;
      u.wasRefreshing = refreshing;
    }
  };
  // One attach in flight per user at a time (round i opens socket i of every user): a session keeps
  // at most a few sockets unproven at once and closes the oldest beyond that.
  const clients = [];
  for (let round = 0; round < Math.max(...ks); round++) {
    const wave = users.filter((u) => u.k > round);
    clients.push(...(await openMany(wave.length, 16, (i) => {
      const c = new Client(prod, app, wave[i].userId, { tokens: token, onFrame });
      c.first = round === 0;
      return c;
    })));
  }
  try {
    await waitUntil(() => clients.every((c) => c.state?.status === "connected"), "every session connected", 30_000, 50).catch((err) => {
      throw new Error(`${err.message}: ${describeClients(clients)}`);
    });
    say(`refresh: ${users.length} sessions connected with ${clients.length} sockets; waiting for ${cycles} refreshes each`);
    await waitUntil(() => [...perUser.values()].every((u) => u.refreshes >= cycles && !u.wasRefreshing), `${cycles} refreshes per session`, (cycles + 3) * TOKEN_LIFETIME_S * 1000, 100);
    await sleep(200);
  } finally {
    await endSessions(clients);
  }
  const byK = {};
  const detail = {};
  for (const k of ks) {
    const us = [...perUser.values()].filter((u) => u.k === k);
    const requests = us.reduce((s, u) => s + u.refreshRequests, 0);
    const refreshes = us.reduce((s, u) => s + u.refreshes, 0);
    byK[k] = refreshes > 0 ? round(requests / refreshes, 3) : undefined;
    detail[k] = { users: us.length, refreshes, refreshTokenRequests: requests, connectTokenRequests: us.reduce((s, u) => s + u.initialRequests, 0), sdkPerTabBaseline: k };
    say(`refresh: k=${k}: ${requests} token requests for ${refreshes} refreshes -> ${byK[k]} per refresh (SDK in every tab: ${k})`);
  }
  return { token_requests_per_refresh: byK, baseline_sdk_per_tab: Object.fromEntries(ks.map((k) => [k, k])), timeScaled: { tokenLifetimeS: TOKEN_LIFETIME_S, retryPolicy: SHORT_POLICY }, detail };
}
