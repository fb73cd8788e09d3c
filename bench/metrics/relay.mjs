/**
 * 9. The relay (issue 14): one Kaleyra connection per user, whatever the number of tabs, and what
 * it costs to share it.
 *
 * For k = 1, 2, 5, 10 connected clients of one user:
 * - Kaleyra connections held: counted by the emulator (`GET /control/connections`); an SDK in every
 *   tab would hold k (the connections stage measures that side).
 * - Fan-out latency: EVENTS events are pushed on the user's Kaleyra connection by the emulator
 *   (`POST /emulator/control/connections/emit`, a non-lifecycle name, its send time in the data);
 *   the latency of an event is from just before that control call to the moment the LAST of the k
 *   clients received its `remote_event` frame (both times on this process's clock), so it includes
 *   the control call's own loopback hop.
 * - Emits: every client sends one `remote_emit` every 100 ms (10/s, below the 20 frames/s per-socket limit) for
 *   EMIT_SECONDS; the session emits each on the Kaleyra connection with an ack, and answers the
 *   sender `remote_ack`. Reported: acked emits per second the session sustained, and the ack round
 *   trip p50/p99 from the client's send.
 * Events go one at a time (the next after the last client got the previous), so the figure is the
 * latency of one event, not a queue.
 */
import { accessToken, Client, createUsers, describeClients, endSessions, openMany, registerApp } from "../lib/kaleyra.mjs";
import { nowMs, sleep, waitUntil } from "../lib/proc.mjs";
import { percentile, round } from "../lib/stats.mjs";
import { emulatorConnections } from "./residency.mjs";

const EVENT = "bench:relay_probe";
/** Evenly spaced, well below the 20 frames/s per-socket limit (a burst at a window's edge would trip it). */
const EMIT_EVERY_MS = 100;

async function pushEvent(stack, appId, userId, data) {
  const res = await fetch(`${stack.base}/emulator/control/connections/emit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ appId, userId, event: EVENT, data }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`emit: ${res.status} ${await res.text()}`);
  return (await res.json()).delivered;
}

export async function runRelay(ctx) {
  const { prod, size, say } = ctx;
  const ks = [1, 2, 5, 10];
  const app = await registerApp(prod, ctx.adminToken, "mAppId_bench_relay");
  await createUsers(prod, app, ks.map((k) => `relay-k${k}`));
  const tokens = (req) => accessToken(app, req.userId, Math.floor(Date.now() / 1000) + 3600);
  const out = { per_k: {} };
  for (const k of ks) {
    const userId = `relay-k${k}`;
    const received = new Map(); // event i -> times of arrival, one per client
    const acks = new Map(); // emit id -> sent time
    const ackMs = [];
    let ackErrors = 0;
    const onFrame = (frame, t) => {
      if (frame.type === "remote_event" && frame.name === EVENT && typeof frame.data?.i === "number") {
        const times = received.get(frame.data.i) ?? [];
        times.push(t);
        received.set(frame.data.i, times);
      } else if (frame.type === "remote_ack") {
        const sent = acks.get(frame.id);
        if (sent === undefined) return;
        acks.delete(frame.id);
        if (frame.error) ackErrors += 1;
        else ackMs.push(t - sent);
      }
    };
    const clients = [];
    // One attach at a time: a session closes the oldest of more than 8 unproven sockets.
    for (let i = 0; i < k; i++) clients.push(...(await openMany(1, 1, () => new Client(prod, app, userId, { tokens, onFrame }))));
    try {
      await waitUntil(() => clients.every((c) => c.state?.status === "connected"), `${k} clients connected`, 20_000, 50).catch((err) => {
        throw new Error(`${err.message}: ${describeClients(clients)}`);
      });
      const connections = await emulatorConnections(prod, app.appId, userId);
      // Fan-out, one event at a time.
      const latencies = [];
      let lost = 0;
      for (let i = 0; i < size.relayEvents; i++) {
        const sentAt = nowMs();
        await pushEvent(prod, app.appId, userId, { i, sentAt });
        const all = await waitUntil(() => (received.get(i)?.length ?? 0) >= k, `event ${i} at ${k} clients`, 5_000, 1).then(() => true, () => false);
        if (!all) {
          lost += 1;
          continue;
        }
        latencies.push(Math.max(...received.get(i)) - sentAt);
      }
      // Emits for EMIT_SECONDS, every client below its frame rate limit.
      const t0 = nowMs();
      let sent = 0;
      const ticks = (size.relayEmitSeconds * 1_000) / EMIT_EVERY_MS;
      for (let j = 0; j < ticks; j++) {
        const tick = nowMs();
        for (const c of clients) {
          const id = `e${sent++}`;
          acks.set(id, nowMs());
          c.send({ type: "remote_emit", id, name: "bench:echo", data: { j } });
        }
        await sleep(Math.max(0, EMIT_EVERY_MS - (nowMs() - tick)));
      }
      await waitUntil(() => acks.size === 0, "every emit acked", 15_000, 5).catch(() => undefined);
      const elapsedS = (nowMs() - t0) / 1000;
      const r = {
        clients: k,
        kaleyra_connections: connections,
        events: size.relayEvents,
        events_missed: lost,
        fanout_p50_ms: round(percentile(latencies, 50), 1),
        fanout_p99_ms: round(percentile(latencies, 99), 1),
        emits_sent: sent,
        emits_acked: ackMs.length,
        emit_errors: ackErrors,
        emits_unanswered: acks.size,
        emits_per_second: round(ackMs.length / elapsedS, 1),
        emit_ack_p50_ms: round(percentile(ackMs, 50), 1),
        emit_ack_p99_ms: round(percentile(ackMs, 99), 1),
      };
      out.per_k[k] = r;
      say(`relay: ${k} clients: ${connections} Kaleyra connection(s); fan-out to the last client p50 ${r.fanout_p50_ms} ms, p99 ${r.fanout_p99_ms} ms (${lost} missed); ${r.emits_acked}/${sent} emits acked, ${r.emits_per_second}/s, ack p50 ${r.emit_ack_p50_ms} ms, p99 ${r.emit_ack_p99_ms} ms`);
    } finally {
      await endSessions(clients);
    }
  }
  const per = (key) => ks.map((k) => out.per_k[k]?.[key]);
  out.relay_kaleyra_connections = per("kaleyra_connections");
  out.relay_fanout_p50_ms = per("fanout_p50_ms");
  out.relay_fanout_p99_ms = per("fanout_p99_ms");
  out.relay_emits_per_second = per("emits_per_second");
  return out;
}
