/**
 * 8. What a connected session costs, beside the SDK-per-tab model (Kaleyra's web SDK in every tab,
 * one Kaleyra connection per tab).
 *
 * Connections held: for k = 1, 2, 5, 10 tabs of one user, ours attaches k client sockets to one
 * session and connects; the SDK model opens k Socket.IO connections (the `socket.io-client`
 * package, as Kaleyra's web SDK does per tab) from this process straight to the emulator's
 * endpoint. Both are counted where Kaleyra would see them: the emulator's
 * `GET /control/connections?appId=…&userId=…` (state "connected").
 *
 * Memory: the runtime workerd's VmRSS (/proc) and its isolate's JS heap (a heap snapshot, after a
 * full GC) with N sessions attached but not connected, then once all N are connected: the
 * difference over N is what connecting adds per session (the object
 * kept resident, its outbound socket, and the emulator's server side of it, which lives in the same
 * runtime here and at Kaleyra in production). The emulator's side alone is read the same way with
 * N direct socket.io-client connections. The SDK side's per-connection memory is this Node
 * process's heap+external growth per socket.io-client connection after a forced GC: the library's
 * own footprint, not a browser tab's (a tab also carries the page and the SDK bundle).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { io } from "socket.io-client";
import { Inspector } from "../lib/inspector.mjs";
import { accessToken, Client, createUsers, describeClients, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { rssKb, sleep, waitUntil } from "../lib/proc.mjs";
import { round } from "../lib/stats.mjs";
import { emulatorConnections } from "./residency.mjs";

const SETTLE_MS = 2_000;
const SETTLE_LIMIT_MS = 30_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

/** One tab of the SDK model: a Socket.IO connection of `userId` to the emulator, as Kaleyra's web SDK opens it. */
function sdkTab(stack, app, userId) {
  const socket = io(stack.base, {
    path: "/emulator/sdk/socket",
    query: { "api-version": "2.1.0" },
    transports: ["websocket"],
    reconnection: false,
    timeout: 10_000,
    auth: {
      "app-id": app.appId,
      "user-id": userId,
      "access-token": accessToken(app, userId, Math.floor(Date.now() / 1000) + 3600),
      "sdk-name": "socket.io-client",
      "sdk-version": "4.8.4",
      "client-name": "kaleyra-edge-bench",
      client: "node",
      "user-agent": "kaleyra-edge bench",
    },
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ socket, ok: false, error: "timeout" }), 15_000);
    socket.once("switchboard:connected", () => (clearTimeout(timer), resolve({ socket, ok: true })));
    socket.once("connect_error", (err) => (clearTimeout(timer), resolve({ socket, ok: false, error: err.message })));
  });
}

async function openTabs(stack, app, userIds, concurrency = 16) {
  const tabs = [];
  let next = 0;
  const worker = async () => {
    while (next < userIds.length) tabs.push(await sdkTab(stack, app, userIds[next++]));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const failed = tabs.filter((t) => !t.ok);
  if (failed.length > 0) throw new Error(`${failed.length} SDK connections failed (e.g. ${failed[0].error})`);
  return tabs;
}

const nodeMemKb = () => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 1024;
};

export async function runConnections(ctx) {
  const { prod, size, say } = ctx;
  const runtime = prod.runtimePid();
  const ks = [1, 2, 5, 10];
  const tokens = (app) => (req) => accessToken(app, req.userId, Math.floor(Date.now() / 1000) + 3600);

  // Connections held per user, k tabs.
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_tabs");
  await createUsers(prod, app, ks.flatMap((k) => [`tabs-k${k}`, `sdk-k${k}`]));
  const held = {};
  for (const k of ks) {
    const userId = `tabs-k${k}`;
    const clients = [];
    // One attach at a time: a session closes the oldest of more than 8 unproven sockets.
    for (let i = 0; i < k; i++) clients.push(...(await openMany(1, 1, () => new Client(prod, app, userId, { tokens: tokens(app) }))));
    const tabs = [];
    try {
      await waitUntil(() => clients.every((c) => c.state?.status === "connected"), `${k} tabs connected`, 20_000, 50).catch((err) => {
        throw new Error(`${err.message}: ${describeClients(clients)}`);
      });
      const ours = await emulatorConnections(prod, app.appId, userId);
      tabs.push(...(await openTabs(prod, app, Array.from({ length: k }, () => `sdk-k${k}`), 1)));
      const sdk = await emulatorConnections(prod, app.appId, `sdk-k${k}`);
      held[k] = { tabs: k, ours, sdkPerTab: sdk };
      say(`connections: ${k} tabs of one user: Kaleyra connections held: ours ${ours}, SDK per tab ${sdk}`);
    } finally {
      for (const t of tabs) t.socket.close();
      await endSessions(clients);
    }
  }

  // Memory per connected session: N sessions attached, then connected; twice, since the second
  // round runs in pages the first one's (ended, evicted) objects freed.
  const n = size.connectionSessions;
  const mapp = await registerApp(prod, ctx.adminToken, "mAppId_bench_memory");
  const rounds = ["first", "second"];
  await createUsers(prod, mapp, rounds.flatMap((r) => Array.from({ length: n }, (_, i) => `mem-${r}-${i}`)));
  // The isolate's JS heap (heap snapshots: after a full GC, so exact for what is live) beside RSS
  // (which also has native memory, but keeps pages V8 freed earlier, so a warm runtime under-reads).
  let inspector;
  try {
    inspector = await Inspector.connect(prod);
  } catch (err) {
    say(`connections: no inspector (${err.message}); JS heap not measured`);
  }
  const heapKb = async () => (inspector ? (await inspector.heapBytes()) / 1024 : undefined);
  const reading = async () => ({ rssKb: rssKb(runtime), heapKb: await heapKb() });
  // A base reading waits until the runtime has evicted the objects of earlier work (ended sessions
  // stay live ~10 s), else their release is subtracted from what is measured. Bounded.
  const settle = async () => {
    await sleep(SETTLE_MS);
    if (!inspector) return undefined;
    const t0 = Date.now();
    let live = (await inspector.liveSessions()).length;
    while (live > 0 && Date.now() - t0 < SETTLE_LIMIT_MS) {
      await sleep(2_000);
      live = (await inspector.liveSessions()).length;
    }
    return live;
  };
  const memory = {};
  try {
    for (const r of rounds) {
      const liveBefore = await settle();
      const base = { ...(await reading()), liveBefore };
      const clients = await openMany(n, 32, (i) => new Client(prod, mapp, `mem-${r}-${i}`, { tokens: tokens(mapp), connect: false }));
      try {
        if (clients.some((c) => c.tFirstState === undefined)) throw new Error(`attach failed: ${describeClients(clients)}`);
        await sleep(SETTLE_MS);
        const attached = await reading();
        for (const c of clients) {
          c.send({ type: "connect", userId: c.userId });
          c.connectSent = true;
        }
        await waitUntil(() => clients.every((c) => c.state?.status === "connected"), "every session connected", 60_000, 50).catch((err) => {
          throw new Error(`${err.message}: ${describeClients(clients)}`);
        });
        const kaleyraConnections = await emulatorConnections(prod, mapp.appId);
        await sleep(SETTLE_MS);
        memory[r] = { base, attached, connected: await reading(), kaleyraConnections };
      } finally {
        await endSessions(clients);
      }
      const m = memory[r];
      say(`connections: ${r} round, ${n} sessions: runtime RSS ${round(m.base.rssKb / 1024, 1)} MiB -> ${round(m.attached.rssKb / 1024, 1)} attached -> ${round(m.connected.rssKb / 1024, 1)} MiB connected (${m.kaleyraConnections} Kaleyra connections); JS heap ${round(m.base.heapKb / 1024, 1)} -> ${round(m.attached.heapKb / 1024, 1)} -> ${round(m.connected.heapKb / 1024, 1)} MiB`);
    }

    // The SDK model's N connections: the emulator's (Kaleyra's) side in the runtime, the client side here.
    const sdkUsers = Array.from({ length: n }, (_, i) => `sdkmem-${i}`);
    await createUsers(prod, mapp, sdkUsers);
    const liveBefore = await settle();
    const base = { ...(await reading()), liveBefore };
    const nodeBaseKb = nodeMemKb();
    const tabs = await openTabs(prod, mapp, sdkUsers);
    try {
      await sleep(SETTLE_MS);
      memory.sdk = { base, connected: await reading(), nodeBaseKb: round(nodeBaseKb, 0), nodeKb: round(nodeMemKb(), 0) };
    } finally {
      for (const t of tabs) t.socket.close();
      await sleep(500);
    }
  } finally {
    inspector?.close();
  }
  const per = (a, b) => (a !== undefined && b !== undefined ? round((a - b) / n, 1) : undefined);
  const { first, second, sdk } = memory;
  const result = {
    kaleyra_connections_per_user: Object.fromEntries(ks.map((k) => [k, held[k].ours])),
    sdk_kaleyra_connections_per_user: Object.fromEntries(ks.map((k) => [k, held[k].sdkPerTab])),
    connected_session_rss_kb: per(first.connected.rssKb, first.attached.rssKb),
    connected_session_rss_kb_second: per(second.connected.rssKb, second.attached.rssKb),
    attached_session_rss_kb: per(first.attached.rssKb, first.base.rssKb),
    attached_session_rss_kb_second: per(second.attached.rssKb, second.base.rssKb),
    connected_session_heap_kb: per(first.connected.heapKb, first.attached.heapKb),
    attached_session_heap_kb: per(first.attached.heapKb, first.base.heapKb),
    emulator_rss_kb_per_connection: per(sdk.connected.rssKb, sdk.base.rssKb),
    emulator_heap_kb_per_connection: per(sdk.connected.heapKb, sdk.base.heapKb),
    sdk_client_heap_kb_per_connection: per(sdk.nodeKb, sdk.nodeBaseKb),
    detail: {
      held,
      sessions: n,
      memory,
      note: "connected_session_* include the emulator's server side of each connection (emulator_*_per_connection), which lives at Kaleyra in production; the second round reuses pages the first freed",
    },
  };
  say(`connections: per session: attached ${result.attached_session_rss_kb} kB RSS (second round ${result.attached_session_rss_kb_second}; ${result.attached_session_heap_kb} kB JS heap), connecting adds ${result.connected_session_rss_kb} kB RSS (second round ${result.connected_session_rss_kb_second}; ${result.connected_session_heap_kb} kB JS heap), the emulator's side ${result.emulator_rss_kb_per_connection} kB RSS (${result.emulator_heap_kb_per_connection} kB JS heap); socket.io-client in Node: ${result.sdk_client_heap_kb_per_connection} kB heap+external per connection`);
  return result;
}
