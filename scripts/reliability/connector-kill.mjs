#!/usr/bin/env node
/**
 * Connector restart under traffic (issue 22): N sessions connected through one connector, Kaleyra
 * sending each user events and every client emitting, when the connector restarts (the local
 * control's `POST /dev/connectors/restart`, as a deploy or a crash: its sockets die, its storage
 * and alarm stay). Checks, from what the clients receive:
 *   - every session is told its connection is lost (reconnecting, lastError remote_lost) within
 *     the connector's watchdog (10 s), and runs the seed's schedule: reconnect attempt 1 at once
 *     (its token request follows the lost state at once), back within the attempt's 15 s;
 *   - connected exactly once after the restart; no session ever disconnected or changed user;
 *   - nothing lost: every event the emulator delivered while the user's connection was up (before
 *     the restart, after the reconnect) reached that user's clients, only that user's, exactly once,
 *     in order, with seqs that go on by 1 across the restart; every emit got exactly one ack;
 *   - the restarted connector reported every connection it held, and holds them all again.
 * Usage: node scripts/reliability/connector-kill.mjs (part of npm run test:reliability); options
 * --keep; CONNECTOR_KILL_SESSIONS (default 20). Exit 0 when every check passed. Bounded: 120 s.
 */
import { randomBytes } from "node:crypto";
import { attachTicket, Client, connectTransitions } from "./client.mjs";
import { runLog, sleep, Stack, waitUntil } from "./lib.mjs";

const SESSIONS = Math.max(1, Math.min(200, Number(process.env.CONNECTOR_KILL_SESSIONS ?? 20)));
/** durable-objects/connector/KaleyraConnector.ts WATCHDOG_MS, with slack for a loaded machine. */
const WATCHDOG_MS = 10_000;
const SLACK_MS = 3_000;
/** The seed's token attempt timeout: reconnect attempt 1 must be back within it. */
const ATTEMPT_MS = 15_000;
const RUN_BUDGET_MS = 120_000;
/** Events asked for this close before the restart may be in flight in the dying connector. */
const IN_FLIGHT_MS = 1_000;
const KEEP = process.argv.includes("--keep");

const run = runLog("connector-kill");
const { log, check } = run;

const budget = setTimeout(() => {
  log(`ABORT: over the ${RUN_BUDGET_MS / 1000} s budget`);
  process.exit(1);
}, RUN_BUDGET_MS);
budget.unref();

const stack = new Stack({ adminToken: `rel-${randomBytes(8).toString("hex")}`, log, name: "connector-kill" });
const appId = `mAppId_ck_${randomBytes(4).toString("hex")}`;
let app;
/** Per user: its client, the events the emulator delivered ({ k, at, delivered }), its emits. */
const users = [];
let traffic = true;

async function answer(client, frame) {
  const token = await stack.mint(app, client.userId);
  if (token) client.send({ type: "token", requestId: frame.requestId, token });
  else client.send({ type: "token_failed", requestId: frame.requestId });
}

/** Kaleyra speaks to every user in turn, and every client emits, until told to stop. */
async function runTraffic() {
  for (let k = 1; traffic; k++) {
    for (const u of users) {
      const at = Date.now();
      const res = await stack.http("POST", "/emulator/control/connections/emit", { body: { appId, userId: u.userId, event: "rel:tick", data: { user: u.userId, k } } }).catch(() => undefined);
      u.sent.push({ k, at, delivered: res?.json?.delivered ?? 0 });
      if (k % 2 === 0) {
        const id = `${u.userId}-${k}`;
        u.emits.push(id);
        u.client.send({ type: "remote_emit", id, name: "rel:ping", data: { k } });
      }
    }
    await sleep(200);
  }
}

async function main() {
  log(`starting wrangler dev (persist-to ${stack.persistDir})`);
  await stack.start();
  app = await stack.createApp(appId, undefined);
  for (let i = 0; i < SESSIONS; i++) {
    const userId = `ck-${i}`;
    await stack.createUser(app, userId);
    const client = new Client(stack.wsBase, appId, userId, { onTokenRequest: (c, f) => void answer(c, f), prove: () => ({ type: "auth", ticket: attachTicket(appId, userId, app.ticketSecret) }) });
    await client.open();
    client.send({ type: "connect", userId });
    users.push({ userId, client, sent: [], emits: [] });
  }
  for (const u of users) await u.client.waitFor((c) => c.lastState()?.status === "connected", "connected", 15_000);
  log(`${SESSIONS} sessions connected (the seed's retry policy); traffic: an event to every user every ~200 ms, an emit from every client every other round`);

  const flowing = runTraffic();
  await sleep(3_000);
  const before = (await stack.http("GET", "/dev/connectors?environment=sandbox&region=eu&pool=shared")).json.shards;
  check(before.length === 1 && before[0].held === SESSIONS, "one connector holds every session's connection", JSON.stringify(before.map((s) => [s.name, s.held])));
  const killedAt = Date.now();
  await stack.expect(200, "POST", "/dev/connectors/restart", { body: { environment: "sandbox", region: "eu", shard: 0 } });
  log(`restarted ${before[0]?.name} under traffic`);

  for (const u of users) {
    const lostState = (c) => c.states().find((v) => v.at >= killedAt && v.status === "reconnecting");
    await u.client.waitFor(lostState, "told the connection is lost", WATCHDOG_MS + SLACK_MS).catch(() => undefined);
    const lost = lostState(u.client);
    u.lostAt = lost?.at;
    check(lost?.lastError === "remote_lost" && lost.at - killedAt <= WATCHDOG_MS + SLACK_MS, `${u.userId}: told its connection is lost within the watchdog`, lost ? `${lost.lastError} after ${lost.at - killedAt} ms` : "never");
    // The seed's reconnect attempt 1 runs at once: its token cycle's first request right away.
    check(lost?.reconnectAttempt === 1 && lost.tokenAttempt === 1, `${u.userId}: reconnect attempt 1 started at once`, lost ? `reconnect ${lost.reconnectAttempt}, token ${lost.tokenAttempt}` : "");
    const requested = (c) => c.ofType("token_request").find((f) => f.at >= killedAt);
    await u.client.waitFor(requested, "its reconnect's token request", 3_000).catch(() => undefined);
    const request = requested(u.client);
    check(request !== undefined && lost !== undefined && request.at - lost.at <= 1_000 && request.attempt === 1, `${u.userId}: its first token request came with it`, request && lost ? `${request.at - lost.at} ms later, attempt ${request.attempt}` : "none");
  }
  for (const u of users) {
    const back = (c) => c.states().find((v) => v.at >= (u.lostAt ?? killedAt) && v.status === "connected");
    await u.client.waitFor(back, "connected again", ATTEMPT_MS + SLACK_MS).catch(() => undefined);
    const b = back(u.client);
    u.backAt = b?.at;
    check(b !== undefined && u.lostAt !== undefined && b.at - u.lostAt <= ATTEMPT_MS, `${u.userId}: back within reconnect attempt 1`, b && u.lostAt ? `${b.at - u.lostAt} ms after the loss` : "not back");
  }
  log(`every session back: the last ${Math.max(...users.map((u) => (u.backAt ?? Infinity) - killedAt))} ms after the restart`);
  await sleep(2_000);
  traffic = false;
  await flowing;
  await sleep(1_000);

  const after = (await stack.http("GET", "/dev/connectors?environment=sandbox&region=eu&pool=shared")).json.shards;
  check(after[0]?.orphansReported === SESSIONS && after[0]?.held === SESSIONS, "the restarted connector reported every connection it held, and holds them all again", JSON.stringify(after.map((s) => ({ name: s.name, held: s.held, orphansReported: s.orphansReported }))));
  let delivered = 0;
  let lostInFlight = 0;
  for (const u of users) {
    const states = u.client.states();
    const since = states.findIndex((v) => v.status === "connected");
    check(since >= 0 && states.slice(since).every((v) => v.status !== "disconnected" && v.userId === u.userId && v.mode === "token"), `${u.userId}: never disconnected once connected, never another user`);
    check(connectTransitions(states.filter((v) => v.at >= killedAt), "connected") === 1, `${u.userId}: connected exactly once after the restart`, `${connectTransitions(states.filter((v) => v.at >= killedAt), "connected")}`);
    const events = u.client.ofType("remote_event");
    check(events.every((e, i) => e.seq === (i === 0 ? e.seq : events[i - 1].seq + 1)), `${u.userId}: relayed seqs go on by 1 across the restart`, events.map((e) => e.seq).join(","));
    check(events.every((e) => e.data?.user === u.userId), `${u.userId}: only its own events`);
    const got = events.map((e) => e.data.k);
    check(got.every((k, i) => i === 0 || k > got[i - 1]), `${u.userId}: events in order, each once`, got.join(","));
    // Up while the emulator delivered: before the restart, or after the session was back. An emit
    // asked for just before the restart may reach the connector as it dies (the traffic runs
    // alongside the restart call): the second before it counts as in flight.
    const up = u.sent.filter((s) => s.delivered === 1 && (s.at < killedAt - IN_FLIGHT_MS || (u.backAt !== undefined && s.at > u.backAt)));
    const missing = up.filter((s) => !got.includes(s.k));
    delivered += up.length;
    lostInFlight += u.sent.filter((s) => s.delivered === 1 && s.at >= killedAt - IN_FLIGHT_MS && !got.includes(s.k)).length;
    check(missing.length === 0, `${u.userId}: every event delivered while its connection was up reached its client`, `missing k ${missing.map((s) => `${s.k} (sent ${s.at - killedAt} ms from the restart)`).join(",")}; got ${got.join(",")}; connector before ${JSON.stringify(before[0]?.reports)} ${JSON.stringify(before[0]?.reportCalls)}`);
    const acks = u.client.ofType("remote_ack");
    const ids = acks.map((a) => a.id);
    check(u.emits.every((id) => ids.filter((x) => x === id).length === 1) && ids.length === u.emits.length, `${u.userId}: every emit got exactly one ack`, `${u.emits.length} emits, ${ids.length} acks`);
  }
  log(`${delivered} events delivered while connections were up all reached their user; ${lostInFlight} sent into the dying connector were not (Kaleyra's side of a dead connection)`);
}

await run.conclude(main, {
  stack,
  keep: KEEP,
  closeAll: () => {
    traffic = false;
    for (const u of users) u.client.close();
  },
  summary: () => `${SESSIONS} sessions, 1 connector restart under traffic`,
});
