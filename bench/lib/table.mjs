/** The table `npm run bench` prints at the end: each figure beside its peer or baseline. */
const fmt = (v, unit = "") => (v === undefined || v === null ? "n/a" : typeof v === "number" ? `${v}${unit}` : String(v));

export function printTable(r) {
  const rows = [];
  const add = (metric, ours, peer, note = "") => rows.push([metric, ours, peer, note]);
  const a = r.attach;
  if (a) {
    const d = a.detail;
    add("attach p50 / p99 (open -> first state)", a.error ?? `${fmt(a.attach_p50_ms, " ms")} / ${fmt(a.attach_p99_ms, " ms")}`, `${fmt(a.peer_attach_p50_ms, " ms")} / ${fmt(a.peer_attach_p99_ms, " ms")} partyserver`, d ? `1 at a time, ${d.product.probe.heldSessions} sessions held${d.product.gated ? ", incl. ticket auth" : ""}` : "");
  }
  if (a?.detail) add("attach burst p99; attaches/s", `${fmt(a.attach_burst_p99_ms, " ms")}; ${fmt(a.attaches_per_second)}/s`, `${fmt(a.peer_attach_burst_p99_ms, " ms")}; ${fmt(a.peer_attaches_per_second)}/s`, `${a.detail.product.burst.sessions} sockets, ${a.detail.product.burst.concurrency} in flight`);
  const ap = r.apps;
  if (ap) {
    add(`attach p50 / p99, ${fmt(ap.apps)} apps`, ap.error ?? `${fmt(ap.apps_attach_p50_ms, " ms")} / ${fmt(ap.apps_attach_p99_ms, " ms")} (1 app: ${fmt(ap.one_app_attach_p50_ms, " ms")} / ${fmt(ap.one_app_attach_p99_ms, " ms")})`, `${fmt(ap.peer_attach_p50_ms, " ms")} / ${fmt(ap.peer_attach_p99_ms, " ms")} partyserver`, "interleaved; clients spread over the apps");
    add(`attach burst attaches/s, ${fmt(ap.apps)} apps`, ap.error ?? `${fmt(ap.apps_attaches_per_second)}/s (1 app: ${fmt(ap.one_app_attaches_per_second)}/s)`, `${fmt(ap.peer_attaches_per_second)}/s partyserver`, "");
    add("first attach of each app (cold AppState)", ap.error ?? `p50 ${fmt(ap.first_attach_per_app_p50_ms, " ms")}, p99 ${fmt(ap.first_attach_per_app_p99_ms, " ms")}`, "n/a", "one at a time, before the measurement");
  }
  const c = r.capacity;
  if (c) {
    const d = c.detail;
    add("capacity: sockets held", c.error ?? fmt(c.max_sockets), `${fmt(c.peer_max_sockets)} partyserver`, d ? `cap ${d.product.cap}${d.product.failure ? `; stopped: ${d.product.failure}` : ""}` : "");
    add("RSS per socket (runtime workerd)", c.error ?? `${fmt(c.rss_per_socket_kb, " kB")} (${fmt(c.rss_per_socket_kb_idle, " kB")} idle)`, `${fmt(c.peer_rss_per_socket_kb, " kB")} (${fmt(c.peer_rss_per_socket_kb_idle, " kB")} idle)`, d ? `runtime fds/socket ${fmt(d.product.runtimeFdsPerSocket)} (peer ${fmt(d.peer.runtimeFdsPerSocket)})` : "");
  }
  const s = r.storm;
  if (s) {
    add("reconnect storm herd factor", s.error ?? fmt(s.herd_factor), `${fmt(s.herd_factor_unjittered)} unjittered; ${fmt(s.herd_factor_ideal)} ideal`, s.detail ? `${s.detail.jittered.sessions} sessions, ${s.detail.jittered.outageMs / 1000} s outage, 100 ms windows` : "");
    add("storm herd factor, retries only (attempt >= 2)", s.error ?? fmt(s.herd_factor_retries), `${fmt(s.herd_factor_retries_unjittered)} unjittered; ${fmt(s.herd_factor_retries_ideal)} ideal`, "ideal: exact schedule, zero processing time");
    add("storm: all back after failure", s.error ?? fmt(s.all_back_ms, " ms"), `${fmt(s.all_back_ms_unjittered, " ms")} unjittered`, `schedule bound ${fmt(s.schedule_bound_ms, " ms")} + processing`);
  }
  const f = r.refresh;
  if (f) {
    const t = f.token_requests_per_refresh ?? {};
    add("token requests per refresh k=1/2/5/10", f.error ?? ["1", "2", "5", "10"].map((k) => fmt(t[k])).join(" / "), "1 / 2 / 5 / 10 SDK per tab", "time-scaled: 6 s tokens");
  }
  const p = r.schedule;
  if (p) {
    const d = p.detail;
    add("schedule lateness p50 / p99", p.error ?? `${fmt(p.schedule_late_p50_ms, " ms")} / ${fmt(p.schedule_late_p99_ms, " ms")}`, `${fmt(p.baseline_alarm_late_p50_ms, " ms")} / ${fmt(p.baseline_alarm_late_p99_ms, " ms")} bare DO alarm`, d ? `${d.product.sessions} sessions, ${d.product.lateMs.n} attempts; time-scaled 1/5` : "");
  }
  const w = r.residency;
  if (w) {
    const d = w.detail?.connected;
    add("connected sessions: objects resident; alarms/h", w.error ?? `${fmt(w.connected_resident_objects)} of ${fmt(d?.sessions)} resident (awake ${fmt(w.connected_awake_fraction)}); ${fmt(w.connected_alarm_wakeups_per_hour)}/h`, `${fmt(w.connected_alarm_wakeups_per_hour_design)}/h design (check + refresh)`, w.error ? "" : `lost connections ${fmt(w.connected_lost_connections_per_hour)}/h, token requests ${fmt(w.connected_token_requests_per_hour)}/h`);
    add("waiting sessions: live objects min; alarms/h", w.error ?? `${fmt(w.waiting_live_objects_min)} (awake ${fmt(w.waiting_awake_fraction)}); ${fmt(w.waiting_alarm_wakeups_per_hour)}/h`, "~0 live (hibernate)", "reconnect backoff 30 s during an outage");
    // (Connected sessions hibernate too since issue 22: their connector holds the connection.)
  }
  const cn = r.connectors;
  if (cn) {
    const h = cn.restart_herd;
    add("connected users measured (apps)", cn.error ?? `${fmt(cn.connected_users_measured)} (${fmt(cn.connected_apps_measured)} apps)`, "goal >= 1,000 over >= 10 apps", cn.error ? "" : `connectors per 1,000 users ${fmt(cn.connectors_per_1000_users)}`);
    add("awake object-seconds per user-hour (billable)", cn.error ?? `${fmt(cn.connected_awake_seconds_per_user_hour, " s")} (${fmt(cn.connected_billable_seconds_per_user_hour, " s")})`, "goal <= 10 s; was 3,600 s", cn.error ? "" : `sessions + connectors; ${cn.detail.cost.awake.tokenLifetimeH} h tokens, a check every 6 h`);
    add("USD per connected user-month: idle / 1 event per minute", cn.error ?? `$${fmt(cn.connected_cost_usd_per_user_month)} / $${fmt(cn.connected_cost_usd_per_user_month_event_per_minute)}`, "goal <= $0.01 idle; was ~$4.15", "docs/performance.md cost model");
    add("connector: RSS per connection; events/s", cn.error ?? `${fmt(cn.connector_rss_kb_per_connection, " kB")}; ${fmt(cn.connector_events_per_second)}/s`, "probe: ~90-107 kB", cn.error ? "" : `relay latency p99 ${fmt(cn.connector_relay_latency_p99_ms, " ms")} at ${fmt(cn.connected_users_measured)} users`);
    add("connector restart: all back; peak CONNECTs /100 ms, /s", cn.error ?? (h ? `${fmt(h.all_back_s, " s")}; ${fmt(h.peak_connects_per_100ms)} / ${fmt(h.peak_connects_per_s)}` : "n/a"), h ? `ideal ${fmt(h.ideal_peak_connects_per_100ms)} / 100 ms; bound ${fmt(h.schedule_bound_s, " s")}` : "", h ? `${fmt(h.back)}/${fmt(h.sessions)} back; lost reported after p50 ${fmt(h.lost_reported_p50_s, " s")}` : "");
  }
  const k = r.connections;
  if (k) {
    const fmtK = (o) => ["1", "2", "5", "10"].map((x) => fmt(o?.[x])).join(" / ");
    add("Kaleyra connections, 1/2/5/10 tabs of a user", k.error ?? fmtK(k.kaleyra_connections_per_user), `${fmtK(k.sdk_kaleyra_connections_per_user)} SDK per tab`, "counted by the emulator");
    add("RSS (JS heap) added by connecting a session", k.error ?? `${fmt(k.connected_session_rss_kb, " kB")} (${fmt(k.connected_session_heap_kb, " kB")})`, `emulator side ${fmt(k.emulator_rss_kb_per_connection, " kB")}; socket.io-client ${fmt(k.sdk_client_heap_kb_per_connection, " kB")}`, k.detail ? `${k.detail.sessions} sessions; attached only: ${fmt(k.attached_session_rss_kb, " kB")} (${fmt(k.attached_session_heap_kb, " kB")})` : "");
  }
  const j = r.join;
  if (j) {
    add("Kaleyra CONNECTs per token join (connected session)", j.error ?? fmt(j.connects_per_token_join), "goal 0", j.error ? "" : `${fmt(j.joined)}/${fmt(j.sessions)} joined; per first connect ${fmt(j.connects_per_first_connect)}; join p50/p99 ${fmt(j.token_join_p50_ms, " ms")} / ${fmt(j.token_join_p99_ms, " ms")}`);
  }
  const fc = r.first;
  if (fc) {
    for (const [key, label] of [["default_failing", "seed policy, failing provider"], ["default_silent", "seed policy, silent provider"], ["scaled_failing", "scaled policy, failing provider"], ["scaled_silent", "scaled policy, silent provider"]]) {
      const x = fc[key];
      add(`first connect: provider calls (${label})`, fc.error ?? (x ? `${x.calls_s.join(", ")} s` : "n/a"), "the seed's delays + jitter", x ? `${x.within_policy} waits within the policy; one socket: ${x.one_socket}` : "");
    }
  }
  const z = r.size;
  if (z) {
    const peers = Object.entries(z.peer_client_gzip_bytes ?? {}).map(([k, v]) => `${k} ${v} B`).join(", ");
    add("client min+gzip", z.error ?? fmt(z.client_gzip_bytes, " B"), peers || "n/a", "esbuild --bundle --minify, gzip -9");
  }
  const wk = r.wake;
  if (wk) {
    add("wake: Kaleyra event -> push service, p50 / p99", wk.error ?? `${fmt(wk.wake_event_to_push_p50_ms, " ms")} / ${fmt(wk.wake_event_to_push_p99_ms, " ms")}`, "", wk.detail ? `${wk.detail.rings} calls, one at a time, no client attached; VAPID checked, decrypted` : "");
    add("wake: pushes per second one app sustains", wk.error ?? `${fmt(wk.wake_pushes_per_second)}/s`, "", wk.detail ? `${wk.detail.throughput.users} users x ${wk.detail.throughput.subscriptionsPerUser} subscriptions rung at once; slowest wave` : "");
  }
  const rl = r.relay;
  if (rl) {
    const fmtK = (v) => (Array.isArray(v) ? v.map((x) => fmt(x)).join(" / ") : fmt(v));
    add("relay, 1/2/5/10 clients of a user: Kaleyra connections", rl.error ?? fmtK(rl.relay_kaleyra_connections), "SDK per tab: 1 / 2 / 5 / 10", "counted by the emulator");
    add("relay fan-out to the last client, p50 / p99 ms (1/2/5/10)", rl.error ?? `${fmtK(rl.relay_fanout_p50_ms)} / ${fmtK(rl.relay_fanout_p99_ms)}`, "", "emulator send -> last client's remote_event");
    add("relay: acked emits per second one session sustains (1/2/5/10)", rl.error ?? fmtK(rl.relay_emits_per_second), "", "10 emits/s per client (frame limit 20/s)");
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[["metric", "kaleyra-edge", "peer / baseline", "notes"], ...rows].map((row) => String(row[i]).length)));
  const line = (row) => row.map((cell, i) => String(cell).padEnd(widths[i])).join(" | ");
  console.log("");
  console.log(line(["metric", "kaleyra-edge", "peer / baseline", "notes"]));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const row of rows) console.log(line(row));
  const m = r.machine;
  console.log(`\nmachine: ${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB, node ${m.node}, workerd ${m.workerd ?? "n/a"}; mode ${r.run.mode}`);
  const noisy = Object.entries(r.noise ?? {}).filter(([, n]) => n.foreignWorkerd > 0).map(([k]) => k);
  if (noisy.length > 0) console.log(`note: other workerd processes were running during ${noisy.join(", ")}: those figures carry extra noise`);
}
