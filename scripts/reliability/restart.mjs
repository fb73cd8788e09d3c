#!/usr/bin/env node
/**
 * Restart test: sessions in every state survive a SIGKILL of the whole local stack.
 *
 * Runs `wrangler dev -c wrangler.local.toml` (orchestrator + Kaleyra emulator) with --persist-to a
 * temporary directory, puts sessions into each state, SIGKILLs the process group (wrangler, its
 * node child, both workerd processes), starts it again on the same storage and checks from the
 * frames that re-attached clients receive:
 *   - no session lost (each one still has its mode, user and an active status);
 *   - each one resumed its schedule with no client attached (its stored view moved on while no
 *     client was there, and never shows an overdue nextAttemptAt: the alarm is armed and fires);
 *   - no token request is sent twice for the same attempt (a request whose holder vanished is
 *     re-sent, same id, to the next client that attaches: by design, at most once per restart);
 *   - a connected session learns its Kaleyra connection is gone (it lived in the killed process,
 *     in its connector): the restarted connector reports it lost within its watchdog (10 s), and
 *     the session reconnects;
 *   - every session ends connected, with the expected number of connects.
 * Round 2 kills the stack again while every session is connected and one is opening its remote
 * session (the call in flight is lost: its deadline turns into the reconnect schedule).
 *
 * Usage: npm run test:reliability   (options: --keep keeps the storage dir and log on failure)
 * Exit code 0 when every check passed; 1 otherwise. The whole run is bounded (170 s).
 *
 * Load: the checks read what the session says (the times in its frames), not when a frame came.
 * On a loaded machine a restart can take longer than the short schedules below (a 4 s token
 * timeout, 1.5 s until attempt 2), and every overdue alarm of 18 objects fires at once after it, so
 * a duty runs seconds after its due time. A late duty still runs at its own due time (the
 * nextAttemptAt it announces is counted from the original deadline), so each check waits (bounded)
 * for the frame that shows the duty ran and checks its times. What the run needs: a restart within
 * RUN_BUDGET_MS overall; nothing else of the machine's speed. RESTART_DOWN_MS=8000 keeps the stack
 * down 8 s longer after kill 1 (longer than every wait of the policy), as a loaded machine may.
 */
import { randomBytes } from "node:crypto";
import { attachTicket, Client, connectTransitions } from "./client.mjs";
import { persistedAlarms, runLog, sleep, Stack, waitUntil } from "./lib.mjs";

/** Short schedules so a run takes seconds; waits long enough to SIGKILL inside them. */
const POLICY = {
  tokenAttemptDelaysMs: [0, 1_500, 3_000],
  tokenAttemptTimeoutMs: 4_000,
  reconnectDelaysMs: [0, 1_000, 2_000],
  reconnectSteadyDelayMs: 2_000,
  jitterMaxMs: 100,
};
/** Every token the emulator mints lives this long (fault tokenLifetimeSec): refresh at half life. */
const TOKEN_LIFETIME_SEC = 50;
const PER_STATE = Math.max(1, Math.min(10, Number(process.env.RESTART_SESSIONS_PER_STATE ?? 3)));
const RUN_BUDGET_MS = 170_000;
const PASSIVE_MS = 4_500;
const KEEP = process.argv.includes("--keep");
/** Extra time the stack stays down after kill 1, to check the run as a loaded machine runs it. */
const DOWN_MS = Math.max(0, Math.min(20_000, Number(process.env.RESTART_DOWN_MS ?? 0)));

const run = runLog("restart");
const { log, check } = run;

const adminToken = `rel-${randomBytes(12).toString("hex")}`;
const stack = new Stack({ adminToken, log });
const appId = `mAppId_rel_${randomBytes(4).toString("hex")}`;
let app;

const budget = setTimeout(() => {
  console.error(`[restart] run budget of ${RUN_BUDGET_MS / 1000} s exceeded; killing the stack`);
  console.error(stack.logTail());
  process.exit(1); // the exit handler SIGKILLs the process group
}, RUN_BUDGET_MS);
budget.unref();

// ---------------------------------------------------------------------------------------------
// Sessions and the clients that drive them.

/** phase: "before" the first kill, "after1" after it, "after2" after the second. */
let phase = "before";
const sessions = [];

function newSession(kind, index) {
  const s = {
    kind,
    userId: `${kind}-${index}-${randomBytes(3).toString("hex")}`,
    /** "silent": never answers; "fail_once": token_failed to its first request, then silent; "answer". */
    behaviour: "silent",
    clients: [],
    requests: [], // { requestId, seq, attempt, expiresAt, client, phase, at }
    answered: new Set(),
    cachedToken: undefined,
    preKill: undefined,
    observer: undefined,
  };
  sessions.push(s);
  return s;
}

const seqOf = (requestId) => Number(requestId.split(".").pop());

async function tokenFor(s) {
  if (s.noMint) return s.cachedToken;
  const minted = await stack.mint(app, s.userId);
  if (minted) s.cachedToken = minted;
  return minted ?? s.cachedToken;
}

async function answer(s, client, frame) {
  if (s.answered.has(frame.requestId)) return;
  s.answered.add(frame.requestId);
  const token = await tokenFor(s);
  if (token === undefined) client.send({ type: "token_failed", requestId: frame.requestId, reason: "no token" });
  else if (client.send({ type: "token", requestId: frame.requestId, token })) s.tokenSentAt = Date.now();
}

function onTokenRequest(s) {
  return (client, frame) => {
    s.requests.push({ requestId: frame.requestId, seq: seqOf(frame.requestId), attempt: frame.attempt, expiresAt: frame.expiresAt, client: client.id, phase, at: frame.at });
    if (client !== s.clients[s.clients.length - 1]) return; // only the newest client of a session acts
    if (s.behaviour === "answer") void answer(s, client, frame);
    else if (s.behaviour === "fail_once" && s.answered.size === 0) {
      s.answered.add(frame.requestId);
      client.send({ type: "token_failed", requestId: frame.requestId, reason: "provider threw" });
    }
  };
}

/** Waits (bounded) for a state the predicate accepts; undefined when none came in time. */
const stateWhere = (client, predicate, what, ms = 10_000) => client.waitFor((c) => c.states().find(predicate), what, ms).catch(() => undefined);

/** The newest resume credential any client of the session was given. */
function latestResume(s) {
  let best;
  for (const c of s.clients) if (c.resume && (!best || c.resume.expiresAt > best.expiresAt)) best = c.resume;
  return best;
}

/**
 * Attaches a client. A token-session socket proves its user: with the session's resume credential
 * when `resume` and one is known (as a reloaded page does), else with an attach ticket.
 */
async function attach(s, label, { resume = false } = {}) {
  const credential = resume ? latestResume(s) : undefined;
  const open = async (useResume) => {
    const client = new Client(stack.wsBase, appId, s.userId, {
      label: `${s.userId}/${label}`,
      onTokenRequest: onTokenRequest(s),
      prove: (modes) =>
        useResume && modes.includes("resume")
          ? { type: "auth", resume: credential.credential }
          : modes.includes("ticket") && app.ticketSecret
            ? { type: "auth", ticket: attachTicket(appId, s.userId, app.ticketSecret) }
            : undefined,
    });
    s.clients.push(client);
    const first = await client.open();
    client.attachedAt = Date.now();
    return { client, first };
  };
  if (credential === undefined) return open(false);
  try {
    const attached = await open(true);
    s.resumed = (s.resumed ?? 0) + 1;
    return attached;
  } catch (err) {
    check(false, `${s.userId}: re-attach with the resume credential issued before the restart`, String(err.message));
    return open(false);
  }
}

/** Answers the newest request of the session that nobody answered yet (when a client turns active). */
function answerOutstanding(s) {
  const client = s.clients[s.clients.length - 1];
  const mine = s.requests.filter((r) => r.client === client.id);
  const last = mine[mine.length - 1];
  if (last && !s.answered.has(last.requestId)) void answer(s, client, { requestId: last.requestId });
}

const statusOk = (v, userId) => v && v.mode === "token" && v.userId === userId && ["connecting", "connected", "reconnecting"].includes(v.status);
const sameView = (a, b) => JSON.stringify(a) === JSON.stringify(b);
/** durable-objects/connector: a restarted connector's alarm fires within this and reports every connection it held as lost. */
const CONNECTOR_WATCHDOG_MS = 10_000;
const short = (v) => (v ? `${v.status} t${v.tokenAttempt} r${v.reconnectAttempt}${v.refreshing ? " refreshing" : ""}${v.nextAttemptAt ? ` next@${v.nextAttemptAt - Date.now()}ms` : ""}` : "none");
/** How a client's socket stands, for failure details. */
const sock = (c) => (c ? `${c.id}: ${c.closed ? `closed ${c.closeCode}` : "open"}, ${c.frames.length} frames, last ${c.frames.length ? Date.now() - c.frames[c.frames.length - 1].at : "-"} ms ago` : "no client");

/**
 * Diagnostic, read from the storage workerd left behind: every session object's own alarm and the
 * alarm its namespace's scheduler holds. An object whose storage has an alarm the scheduler does
 * not is stuck until something re-arms it.
 */
async function reportPersistedAlarms(when) {
  const rows = await persistedAlarms(stack.persistDir);
  if (rows === undefined) return log(`${when}: (node:sqlite unavailable: persisted alarms not inspected)`);
  const mine = rows.filter((r) => r.name?.startsWith(`token:${appId}:`));
  const mismatched = mine.filter((r) => r.actorAlarm !== r.schedulerAlarm);
  const fmt = (t) => (t === undefined ? "none" : `${t - Date.now()} ms`);
  log(`${when}: persisted alarms of ${mine.length} session objects: ${mine.filter((r) => r.actorAlarm !== undefined).length} in object storage, ${mine.filter((r) => r.schedulerAlarm !== undefined).length} in the scheduler, ${mismatched.length} differ`);
  for (const r of mismatched) log(`  ${r.name.split(":").pop()}: object ${fmt(r.actorAlarm)}, scheduler ${fmt(r.schedulerAlarm)}`);
  persistedReports.push({ when, rows: mine });
}
const persistedReports = [];

// ---------------------------------------------------------------------------------------------

async function main() {
  // Something outside this script killing or crashing the runtime would look like a product bug.
  const monitor = setInterval(() => {
    const changed = stack.runtimeChanged();
    if (changed) check(false, "the stack ran undisturbed", changed);
  }, 250);
  monitor.unref();
  log(`starting wrangler dev (persist-to ${stack.persistDir})`);
  const startMs = await stack.start();
  log(`stack ready on ${stack.base} in ${startMs} ms`);

  app = await stack.createApp(appId, POLICY);
  log(`app ${appId} registered with policy ${JSON.stringify(POLICY)}`);
  await stack.setFaults({ tokenLifetimeSec: TOKEN_LIFETIME_SEC });

  const byKind = (kind) => sessions.filter((s) => s.kind === kind);
  for (const kind of ["connected", "unattended", "reconnecting", "connecting", "early", "waiting", "opening"]) {
    for (let i = 0; i < PER_STATE; i++) newSession(kind, i);
  }
  for (const s of sessions) await stack.createUser(app, s.userId);
  log(`${sessions.length} users created (${PER_STATE} per state)`);

  // connected and unattended: connect with answering clients; the unattended ones then leave.
  for (const s of [...byKind("connected"), ...byKind("unattended")]) {
    s.behaviour = "answer";
    const { client } = await attach(s, "c0");
    client.send({ type: "connect", userId: s.userId });
  }
  for (const s of [...byKind("connected"), ...byKind("unattended")]) {
    await s.clients[0].waitFor((c) => c.lastState()?.status === "connected", "connected", 10_000);
  }
  for (const s of byKind("unattended")) {
    s.preKill = s.clients[0].lastState();
    s.clients[0].close();
  }
  log(`connected: ${PER_STATE} observed + ${PER_STATE} unattended (their clients closed); tokens expire in ${TOKEN_LIFETIME_SEC} s`);

  // reconnecting: the emulator refuses everything; the clients answer with tokens minted before.
  for (const s of byKind("reconnecting")) s.cachedToken = await stack.mint(app, s.userId);
  await stack.setFaults({ outage: "refuse", tokenLifetimeSec: TOKEN_LIFETIME_SEC });
  for (const s of byKind("reconnecting")) {
    s.behaviour = "answer";
    const { client } = await attach(s, "c0");
    client.send({ type: "connect", userId: s.userId });
  }
  for (const s of byKind("reconnecting")) {
    await s.clients[0].waitFor((c) => c.lastState()?.status === "reconnecting" && c.lastState().reconnectAttempt >= 1, "reconnecting", 10_000);
  }
  log("emulator outage (refuse) on: reconnecting sessions are in the reconnect schedule");

  // connecting (and early: re-attached at once after the restart): the client never answers its token request.
  for (const s of [...byKind("connecting"), ...byKind("early")]) {
    const { client } = await attach(s, "c0");
    client.send({ type: "connect", userId: s.userId });
  }
  for (const s of [...byKind("connecting"), ...byKind("early")]) await s.clients[0].waitFor((c) => c.ofType("token_request").length === 1, "token request 1", 5_000);
  log("connecting sessions hold an unanswered token request");

  // waiting: the provider fails attempt 1; the session waits 1.5 s + jitter for attempt 2. Kill inside that wait.
  for (const s of byKind("waiting")) {
    s.behaviour = "fail_once";
    const { client } = await attach(s, "c0");
    client.send({ type: "connect", userId: s.userId });
  }
  for (const s of byKind("waiting")) await s.clients[0].waitFor((c) => c.lastState()?.nextAttemptAt !== undefined, "a retry wait", 5_000);
  log("waiting sessions wait for token attempt 2");

  for (const s of sessions) if (s.kind !== "unattended" && s.kind !== "opening") s.preKill = s.clients[0].lastState();
  const expected = {
    connected: (v) => v.status === "connected",
    unattended: (v) => v.status === "connected",
    reconnecting: (v) => v.status === "reconnecting",
    connecting: (v) => v.status === "connecting" && v.tokenAttempt === 1 && v.nextAttemptAt === undefined,
    early: (v) => v.status === "connecting" && v.tokenAttempt === 1 && v.nextAttemptAt === undefined,
    waiting: (v) => v.status === "connecting" && v.tokenAttempt === 1 && v.nextAttemptAt !== undefined,
  };
  for (const s of sessions) if (s.kind !== "opening") check(expected[s.kind](s.preKill), `${s.userId} is ${s.kind} before the kill`, short(s.preKill));

  // ------------------------------------------------------------------------------------------
  // Kill 1.
  const killedAt = Date.now();
  await stack.kill("SIGKILL");
  phase = "after1";
  await reportPersistedAlarms("kill 1");
  // A slow restart on demand (RESTART_DOWN_MS): what a loaded machine does to the schedules.
  await sleep(DOWN_MS);
  log(`SIGKILLed the process group (${sessions.filter((s) => s.kind !== "opening").length} sessions: ${["connected", "unattended", "reconnecting", "connecting", "early", "waiting"].map((k) => `${PER_STATE} ${k}`).join(", ")})`);
  const restartMs = await stack.start();
  const readyAt = Date.now();
  log(`restarted on the same storage in ${restartMs} ms (port ${stack.port}); down for ${readyAt - killedAt} ms`);

  // early: attach at once. While the request's deadline has not passed, the same request (same id,
  // same attempt) moves to the new client: its holder vanished with the process.
  const early = byKind("early");
  await Promise.all(early.map(async (s) => {
    const { client, first } = await attach(s, "o1", { resume: true });
    s.observer = client;
    check(statusOk(first, s.userId), `${s.userId} (early) not lost`, short(first));
  }));
  let rerouted = 0;
  for (const s of early) {
    const pending = s.requests[0];
    // A margin for the proof's round trip: the request is re-sent only while it is still pending.
    if (s.observer.attachedAt < pending.at + POLICY.tokenAttemptTimeoutMs - 1_000) {
      rerouted += 1;
      const got = await s.observer.waitFor((c) => c.ofType("token_request")[0], "the pending request", 2_000).catch(() => undefined);
      check(got?.requestId === pending.requestId && got.attempt === pending.attempt, `${s.userId} (early): the pending request moved to the re-attached client, same id and attempt`, got ? `${got.requestId}#${got.attempt} vs ${pending.requestId}#${pending.attempt}` : "none");
    } else {
      log(`note: ${s.userId} re-attached after its request's deadline (slow restart); re-route not checked`);
    }
  }
  // The timeout is a duty on the alarm: however late it runs, the wait it starts is counted from the
  // original deadline (the seed's "delays are counted from the end of the previous attempt").
  // `deadline` is when this client saw the request plus the timeout, so the session's own deadline
  // is a little earlier; a deadline re-armed at the restart would announce readyAt + 4 s + 1.5 s.
  let seenWaiting = 0;
  for (const s of early) {
    const deadline = s.requests[0].at + POLICY.tokenAttemptTimeoutMs;
    const wait = POLICY.tokenAttemptDelaysMs[1];
    const timedOut = await stateWhere(s.observer, (v) => (v.tokenAttempt === 1 && v.nextAttemptAt !== undefined) || v.tokenAttempt >= 2 || v.status === "reconnecting", "attempt 1 timed out");
    if (timedOut?.tokenAttempt === 1) {
      seenWaiting += 1;
      const from = timedOut.nextAttemptAt - wait;
      check(from >= deadline - 1_000 && from <= deadline + POLICY.jitterMaxMs, `${s.userId} (early): the request timed out on its original deadline`, `attempt 2 due ${from - deadline} ms (+1.5 s) after the original deadline; ${sock(s.observer)}`);
    } else {
      // The restart (or the late alarm) outlasted the wait too: both duties ran in one go, and this
      // client saw attempt 2 directly. Only fine once attempt 2 was due.
      check(timedOut !== undefined && timedOut.at >= deadline + wait - 200, `${s.userId} (early): the request timed out (attempt 2 began before the client could see the wait)`, `${short(timedOut ?? s.observer.lastState())}; seen ${timedOut ? timedOut.at - deadline : "-"} ms after the deadline, up ${readyAt - deadline} ms after it; ${sock(s.observer)}`);
    }
  }
  log(`early observers: ${rerouted}/${early.length} got the pending request re-sent (same id, same attempt); ${seenWaiting}/${early.length} saw it time out on its original deadline (the others saw attempt 2 already running)`);

  // Let the alarms run with no client attached, then attach passive observers.
  await sleep(Math.max(0, readyAt + 3_000 - Date.now()));
  const observed = sessions.filter((s) => ["connected", "reconnecting", "connecting", "early", "waiting"].includes(s.kind));
  for (const s of observed.filter((x) => x.kind !== "early")) {
    s.behaviour = "silent";
    const { client, first } = await attach(s, "o1", { resume: true });
    s.observer = client;
    s.firstAfter = first;
    const attachedAt = client.attachedAt;
    check(statusOk(first, s.userId), `${s.userId} (${s.kind}) not lost`, short(first));
    if (s.kind === "connected") {
      check(sameView(first, s.preKill), `${s.userId} still connected with the same token`, `${short(s.preKill)} -> ${short(first)}`);
    } else {
      check(!sameView(first, s.preKill), `${s.userId} (${s.kind}) moved on with no client attached`, `${short(s.preKill)} -> ${short(first)}`);
      // Armed: a duty overdue at attach (an alarm late under load) still runs, and the view moves on.
      const overdue = first.nextAttemptAt !== undefined && first.nextAttemptAt < attachedAt - 500;
      const ran = !overdue || (await stateWhere(client, (v) => !sameView({ ...v, at: undefined }, { ...first, at: undefined }), "the overdue duty to run"));
      check(Boolean(ran), `${s.userId} (${s.kind}) has no lost duty (alarm armed)`, `nextAttemptAt ${first.nextAttemptAt - attachedAt} ms from attach, and nothing ran within 10 s`);
    }
  }
  log(`observers attached ${Date.now() - readyAt} ms after the restart; first views: ${observed.filter((x) => x.kind !== "early").map((x) => `${x.kind}=${short(x.firstAfter)}`).join("; ")}`);

  await sleep(PASSIVE_MS);
  for (const s of observed.filter((x) => x.kind !== "connected" && x.kind !== "early")) {
    const views = s.observer.ofType("state").map((f) => f.state);
    check(views.length >= 2 && !sameView(views[views.length - 1], views[0]), `${s.userId} (${s.kind}) progresses by alarms alone (passive observer)`, views.map(short).join(" | "));
  }
  log(`passive observers saw the schedules progress for ${PASSIVE_MS} ms`);

  // End the outage; observers answer from now on.
  await stack.setFaults({ tokenLifetimeSec: TOKEN_LIFETIME_SEC });
  const liftedAt = Date.now();
  for (const s of observed) {
    s.behaviour = "answer";
    answerOutstanding(s);
  }
  log("outage lifted; observers answer token requests");
  for (const s of observed.filter((x) => x.kind !== "connected")) {
    await s.observer.waitFor((c) => c.lastState()?.status === "connected", "connected after the restart", 20_000).catch(() => undefined);
    check(s.observer.lastState()?.status === "connected", `${s.userId} (${s.kind}) connects after the restart`, `${short(s.observer.lastState())}; ${sock(s.observer)}`);
    check(connectTransitions(s.observer.states()) === 1, `${s.userId} (${s.kind}) connected exactly once`, `${connectTransitions(s.observer.states())} connects`);
  }
  log("connecting, waiting and reconnecting sessions are connected");

  // connected: the Kaleyra connection does not survive the process (an outbound WebSocket lives in
  // memory only, in the connector: docs/architecture.md): the connector's storage lists it, its
  // alarm (within its 10 s watchdog) reports it lost, and the reconnect schedule brings the session back.
  for (const s of byKind("connected")) {
    const lostSeen = (c) => c.states().some((v) => v.status === "reconnecting" && v.lastError === "remote_lost");
    await s.observer.waitFor(lostSeen, "the lost connection found", CONNECTOR_WATCHDOG_MS + 10_000).catch(() => undefined);
    const lost = s.observer.states().find((v) => v.status === "reconnecting");
    check(lost?.lastError === "remote_lost", `${s.userId}: the restarted connector reported the Kaleyra connection lost`, lost ? short(lost) : "never reconnecting");
    await s.observer.waitFor((c) => c.lastState()?.status === "connected" && !c.lastState().refreshing && lostSeen(c), "reconnected", 20_000).catch(() => undefined);
    check(s.observer.lastState()?.status === "connected", `${s.userId}: reconnected`, `${short(s.observer.lastState())}; ${sock(s.observer)}`);
  }
  log("connected sessions found their lost Kaleyra connection and reconnected after the restart");

  // unattended: nobody attached since before the kill; the refresh runs anyway.
  for (const s of byKind("unattended")) {
    const refreshAt = s.preKill.expiresAt - (TOKEN_LIFETIME_SEC * 1000) / 2;
    await sleep(Math.max(0, refreshAt + 2_500 - Date.now()));
    s.behaviour = "silent";
    const { client, first } = await attach(s, "o1", { resume: true });
    s.observer = client;
    check(statusOk(first, s.userId), `${s.userId} (unattended) not lost`, short(first));
    check(first.refreshing === true || first.status === "reconnecting", `${s.userId} (unattended): the refresh started with no client attached`, short(first));
    s.behaviour = "answer";
    answerOutstanding(s);
    await client.waitFor((c) => c.lastState()?.status === "connected" && !c.lastState().refreshing && c.lastState().expiresAt > s.preKill.expiresAt, "refreshed", 15_000).catch(() => undefined);
    check(client.lastState()?.status === "connected" && client.lastState().expiresAt > s.preKill.expiresAt, `${s.userId} (unattended): refreshed through the re-attached client`, short(client.lastState()));
  }
  log("unattended sessions refreshed with no client, then through the re-attached client");

  // ------------------------------------------------------------------------------------------
  // Round 2: kill while every session is connected and the "opening" ones wait on a remote call.
  for (const s of byKind("opening")) s.cachedToken = await stack.mint(app, s.userId);
  await stack.setFaults({ outage: "hang", tokenLifetimeSec: TOKEN_LIFETIME_SEC });
  for (const s of byKind("opening")) {
    s.behaviour = "answer";
    s.noMint = true; // the credentials call hangs too: answer with the token minted before
    const { client } = await attach(s, "c0");
    client.send({ type: "connect", userId: s.userId });
  }
  // Their token answer is out and the emulator holds the open: connecting, no retry wait.
  for (const s of byKind("opening")) await waitUntil(() => s.tokenSentAt !== undefined, `${s.userId} answered`, 5_000);
  await sleep(500);
  const before2 = new Map(sessions.filter((s) => s.kind !== "opening").map((s) => [s, s.observer.lastState()]));
  for (const s of byKind("opening")) {
    s.preKill = s.clients[0].lastState();
    check(s.preKill.status === "connecting" && s.preKill.tokenAttempt === 1 && s.preKill.nextAttemptAt === undefined, `${s.userId} is opening its remote session before kill 2 (token answered ${Date.now() - s.tokenSentAt} ms ago)`, short(s.preKill));
  }
  const killed2At = Date.now();
  await stack.kill("SIGKILL");
  phase = "after2";
  await reportPersistedAlarms("kill 2");
  log("kill 2: SIGKILLed with every other session connected and the opening ones waiting on the emulator");
  const restart2Ms = await stack.start();
  log(`restarted in ${restart2Ms} ms; down for ${Date.now() - killed2At} ms`);
  await stack.setFaults({ tokenLifetimeSec: TOKEN_LIFETIME_SEC });
  const lastOpen = Math.max(...byKind("opening").map((s) => s.tokenSentAt));
  await sleep(Math.max(0, lastOpen + POLICY.tokenAttemptTimeoutMs + 1_000 - Date.now()));
  for (const s of byKind("opening")) {
    s.noMint = false;
    s.behaviour = "silent";
    const { client, first } = await attach(s, "o1", { resume: true });
    s.observer = client;
    // Its deadline's duty may run after the attach on a loaded machine: wait (bounded) for it.
    const moved = await stateWhere(client, (v) => v.status === "reconnecting" && v.reconnectAttempt >= 1, "the reconnect schedule");
    check(statusOk(first, s.userId) && moved !== undefined, `${s.userId}: the lost remote call's deadline moved it to the reconnect schedule`, `${short(first)} -> ${short(client.lastState())}`);
    s.behaviour = "answer";
    answerOutstanding(s);
  }
  for (const s of sessions.filter((x) => x.kind !== "opening")) {
    const { client, first } = await attach(s, "o2", { resume: true });
    s.observer = client;
    const was = before2.get(s);
    // Connected before the kill: still connected (its restarted connector has not reported yet) or
    // already reconnecting because it was told its Kaleyra connection is gone; either way it comes back below.
    const plausible = first.status === "connected" || (first.status === "reconnecting" && first.lastError === "remote_lost");
    check(plausible, `${s.userId} (${s.kind}) connected, or reconnecting for a lost connection, after kill 2`, `${short(was)} -> ${short(first)}`);
  }
  for (const s of sessions) {
    await s.observer.waitFor((c) => c.lastState()?.status === "connected" && !c.lastState().refreshing, "connected", 20_000).catch(() => undefined);
    check(s.observer.lastState()?.status === "connected", `${s.userId} (${s.kind}) connected at the end`, short(s.observer.lastState()));
  }
  log("after kill 2 every session is connected");

  // ------------------------------------------------------------------------------------------
  // Token requests: per request id, one delivery per phase, never twice to one client; after a
  // restart the ids only move forward.
  let redelivered = 0;
  let totalRequests = 0;
  for (const s of sessions) {
    const byId = new Map();
    for (const r of s.requests) byId.set(r.requestId, [...(byId.get(r.requestId) ?? []), r]);
    totalRequests += byId.size;
    for (const [id, deliveries] of byId) {
      const phases = deliveries.map((d) => d.phase);
      const clients = deliveries.map((d) => d.client);
      check(new Set(clients).size === clients.length, `${s.userId}: request ${id} sent once per client`, clients.join(","));
      check(new Set(phases).size === phases.length, `${s.userId}: request ${id} sent at most once per restart`, phases.join(","));
      check(new Set(deliveries.map((d) => d.attempt)).size === 1, `${s.userId}: request ${id} keeps its attempt number`);
      if (deliveries.length > 1) redelivered += 1;
    }
    for (const p of ["after1", "after2"]) {
      const seqs = s.requests.filter((r) => r.phase === p).map((r) => r.seq);
      check(seqs.every((q, i) => i === 0 || q > seqs[i - 1]), `${s.userId}: request ids only move forward after restart ${p.slice(-1)}`, seqs.join(","));
    }
  }
  log(`token requests: ${totalRequests} distinct ids, ${redelivered} re-sent to the client that attached after a restart (holder gone)`);
  const resumed = sessions.reduce((n, s) => n + (s.resumed ?? 0), 0);
  log(`re-attached with resume credentials issued before a restart: ${resumed}`);
}

await run.conclude(main, {
  stack,
  keep: KEEP,
  closeAll: () => {
    for (const s of sessions) for (const c of s.clients) c.close();
  },
  summary: () => `${sessions.length} sessions (${PER_STATE} per state), 2 SIGKILL restarts`,
});
