// The kaleyra-edge demo page (docs/demo.md). Plain DOM, no framework: it drives the thin client
// (KaleyraVideo, bundled from client/ by dev/demo/build.mjs) and draws what the state frames say.
// Everything the session does (token attempts, waits, reconnects, refreshes) happens in the
// user's Durable Object; this page only answers token requests and renders.
import { KaleyraVideo } from "./kaleyra-client.js";

const $ = (id) => document.getElementById(id);
/** The client's saved configuration (docs/client.md, "Saved data"): fills the form after a reload. */
const CONFIGURATION_KEY = "kaleyra.configuration";
const HISTORY_MS = 10 * 60_000;

/** Every state the client reported, with the local time it arrived: the timeline's data. */
const history = [];
/** This tab's token provider calls: { t, end?, ok? }. */
const providerCalls = [];
let lastError;
let room;

const kaleyra = new KaleyraVideo({
  server: location.origin,
  // After a reload the saved data says a session was connected: join it again (no new session,
  // and no token request: the session already has its token).
  onRequestConnect: ({ userId }) => {
    log(`start(): saved data says "${userId}" was connected; joining that session`);
    $("userId").value = userId;
    connectToken(userId);
  },
  onError: (error) => log(`server error frame: ${error.code}`),
});

// ---- actions ----------------------------------------------------------------------------------

function configure() {
  const configuration = { appId: $("appId").value.trim(), environment: $("environment").value, region: $("region").value };
  const ok = kaleyra.configure(configuration);
  log(`configure(${JSON.stringify(configuration)}) -> ${ok}`);
  if (!ok) showError("configure", { code: "refused", message: "invalid input, or a live session uses another configuration" });
  else clearError();
  renderConfigured();
}

function connectToken(userId) {
  clearError();
  log(`connect("${userId}", provider)`);
  kaleyra.connect(userId, provider).then(
    (user) => log(`connect resolved: connected as "${user.userId}"`),
    (error) => showError("connect", error),
  );
}

function connectLink(link) {
  clearError();
  log("connect(accessLink)");
  kaleyra.connect(link).then(
    (user) => log(`connect(accessLink) resolved: connected as "${user.userId}"`),
    (error) => showError("connect(accessLink)", error),
  );
}

/** The token provider: what an app's provider does, asking its own backend (POST /demo/token). */
async function provider({ userId, expiresAt }) {
  const call = { t: Date.now() };
  providerCalls.push(call);
  log(`provider asked for a token for "${userId}"${expiresAt ? ` (refresh: the current one expires at ${clock(expiresAt)})` : ""}`);
  try {
    if ($("failProvider").checked) throw new Error("the demo's provider is set to fail");
    const res = await fetch("/demo/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ appId: appId(), userId }) });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${body.error ?? res.status}${body.message ? `: ${body.message}` : ""}`);
    call.ok = true;
    log(`provider answered a token (expires at ${clock(body.expiresAt)})`);
    return body.token;
  } catch (error) {
    call.ok = false;
    log(`provider failed: ${error.message}`);
    throw error;
  } finally {
    call.end = Date.now();
  }
}

async function disconnect(clearSavedData) {
  log(`disconnect({ clearSavedData: ${clearSavedData} })`);
  try {
    await kaleyra.disconnect({ clearSavedData });
    log("disconnect resolved: the server took it");
  } catch (error) {
    showError("disconnect", error);
  }
}

async function reset() {
  log("reset()");
  try {
    await kaleyra.reset();
    log("reset resolved: disconnected, configuration dropped");
  } catch (error) {
    showError("reset", error);
  }
  renderConfigured();
}

async function createRoom() {
  clearError();
  const userId = $("userId").value.trim();
  const answer = await backend("/demo/room", { appId: appId(), userIds: [userId, `${userId}.guest`] });
  if (!answer) return;
  room = answer;
  const [mine, guest] = answer.participants;
  $("accessLink").value = mine.accessLink;
  $("endRoom").disabled = false;
  $("room").textContent = `room ${answer.roomId}: the link above is "${mine.userId}"'s; "${guest.userId}" can join from another tab with ${guest.accessLink}`;
  log(`room ${answer.roomId} created with "${mine.userId}" and "${guest.userId}"`);
}

async function endRoom() {
  if (!room) return;
  const answer = await backend(`/demo/room/${encodeURIComponent(room.roomId)}/end`, { appId: appId() });
  if (!answer) return;
  log(`room ${room.roomId} ended: its link sessions end with call_ended`);
  $("endRoom").disabled = true;
  $("room").textContent = `room ${room.roomId} ended`;
}

async function setFaults(change) {
  try {
    const current = await (await fetch("/emulator/control/faults")).json();
    const res = await fetch("/emulator/control/faults", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...current, ...change }) });
    const faults = await res.json();
    if (!res.ok) throw new Error(faults.message ?? `HTTP ${res.status}`);
    log(`emulator faults: ${JSON.stringify(faults)}`);
    renderFaults(faults);
  } catch (error) {
    showError("faults", { code: "emulator", message: error.message });
  }
}

async function loadFaults() {
  try {
    renderFaults(await (await fetch("/emulator/control/faults")).json());
  } catch {
    // The emulator answers once npm start is up; the buttons still work later.
  }
}

async function backend(path, body) {
  try {
    const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const answer = await res.json();
    if (!res.ok) throw Object.assign(new Error(answer.message ?? `HTTP ${res.status}`), { code: answer.error });
    return answer;
  } catch (error) {
    showError(path, error);
    return undefined;
  }
}

/** The configured appId (the client keeps it; after a reload it comes back from saved data). */
function appId() {
  try {
    return JSON.parse(localStorage.getItem(CONFIGURATION_KEY) ?? "null")?.appId ?? $("appId").value.trim();
  } catch {
    return $("appId").value.trim();
  }
}

// ---- state, log and errors --------------------------------------------------------------------

/** Keeps every state the client reports (the timeline's data), logs what changed, renders. */
function onState(s) {
  const now = Date.now();
  const previous = history.at(-1)?.s;
  history.push({ t: now, s });
  while (history.length > 2 && history[1].t < now - HISTORY_MS) history.shift();
  describe(previous, s, now);
  render();
}

/** Log lines for what changed between two states. */
function describe(p, s, now) {
  if (!p) return;
  const parts = [];
  if (p.status !== s.status) parts.push(`status ${s.status}${s.mode ? ` (${s.mode})` : ""}${s.reason ? `, reason ${s.reason}` : ""}${s.error ? `, error ${s.error}` : ""}`);
  if (s.refreshing && !p.refreshing) parts.push("refreshing the token");
  if (s.tokenAttempt > p.tokenAttempt) parts.push(`token attempt ${s.tokenAttempt}`);
  if (s.reconnectAttempt > p.reconnectAttempt) parts.push(`reconnect attempt ${s.reconnectAttempt}`);
  if (s.nextAttemptAt && s.nextAttemptAt !== p.nextAttemptAt) {
    parts.push(`wait ${seconds(s.nextAttemptAt - now)} until ${s.tokenAttempt > 0 ? `token attempt ${s.tokenAttempt + 1}` : `reconnect attempt ${s.reconnectAttempt + 1}`}`);
  }
  if (s.expiresAt && s.expiresAt !== p.expiresAt) parts.push(`token expires at ${clock(s.expiresAt)}`);
  if (p.transport !== s.transport) parts.push(`socket ${s.transport}${s.transport === "waiting" && s.nextOpenAt ? ` (reopens in ${seconds(s.nextOpenAt - now)})` : ""}`);
  if (s.failure && s.failure !== p.failure) parts.push(`client stopped: ${s.failure.code}`);
  if (parts.length) log(parts.join(" · "));
}

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${clock(Date.now(), true)}  ${text}`;
  const list = $("log");
  list.prepend(item);
  while (list.children.length > 200) list.lastElementChild.remove();
}

function showError(op, error) {
  lastError = { op, code: error.code ?? "error", message: error.message };
  const el = $("error");
  el.hidden = false;
  el.textContent = `${op}: ${lastError.code}: ${lastError.message}`;
  log(`${op} failed: ${lastError.code}: ${lastError.message}`);
}

function clearError() {
  $("error").hidden = true;
}

// ---- rendering --------------------------------------------------------------------------------

function render() {
  const s = kaleyra.state.value;
  const now = Date.now();
  document.body.dataset.status = s.status;
  document.body.dataset.transport = s.transport;
  const status = $("status");
  status.textContent = s.refreshing ? `${s.status} · refreshing` : s.status;
  status.className = `status ${s.status}`;
  const rows = [
    ["status", s.status],
    ["mode", s.mode ?? "–"],
    ["userId", s.userId ?? "–"],
    ["connectedUser", kaleyra.connectedUser?.userId ?? "–"],
    ["socket (transport)", s.transport + (s.transport === "waiting" && s.nextOpenAt ? `, reopens in ${seconds(s.nextOpenAt - now)}` : "")],
    ["tokenAttempt", s.tokenAttempt],
    ["reconnectAttempt", s.reconnectAttempt],
    ["refreshing", s.refreshing],
    ["nextAttemptAt", s.nextAttemptAt ? `${clock(s.nextAttemptAt)} (in ${seconds(s.nextAttemptAt - now)})` : "–"],
    ["expiresAt", s.expiresAt ? `${clock(s.expiresAt)} (in ${seconds(s.expiresAt - now)})` : "–"],
    ["error / reason", [s.error, s.reason].filter(Boolean).join(" / ") || "–"],
    ["client failure", s.failure ? s.failure.code : "–"],
    ["provider calls (this tab)", `${providerCalls.length}`],
  ];
  $("state").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    const td = document.createElement("td");
    th.textContent = k;
    td.textContent = String(v);
    tr.append(th, td);
    return tr;
  }));
  drawTimeline(now);
}

function renderConfigured() {
  const pill = $("configured");
  pill.textContent = kaleyra.isConfigured ? `configured: ${appId()}` : "not configured";
  pill.classList.toggle("on", kaleyra.isConfigured);
}

function renderFaults(f) {
  $("faults").textContent = `outage: ${f.outage}${f.tokenLifetimeSec ? ` · tokens live ${f.tokenLifetimeSec} s` : ""}${f.latencyMs ? ` · latency ${f.latencyMs} ms` : ""}${f.errorRate ? ` · error rate ${f.errorRate}` : ""}`;
  $("faults").classList.toggle("alert", f.outage !== "none");
  $("shortTokens").checked = f.tokenLifetimeSec !== null;
}

const SVG = "http://www.w3.org/2000/svg";
const LANES = { status: 22, token: 66, reconnect: 110, socket: 154 };
const LANE_H = 20;
const AXIS_Y = 184;

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Four lanes on a time axis: the status and the socket as colored spans; token and reconnect
 * attempts as markers, each wait as a hatched bar from the state that announced it to its
 * nextAttemptAt (a token wait while tokenAttempt > 0, else a reconnect wait).
 */
function drawTimeline(now) {
  const svg = $("timeline");
  const width = svg.clientWidth || 900;
  const span = Number($("window").value);
  const t1 = now + span * 0.12;
  const t0 = t1 - span;
  const left = 92;
  const right = width - 8;
  const x = (t) => left + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (right - left);
  const nodes = [
    el("defs", {}),
    ...Object.entries(LANES).map(([name, y]) => el("text", { x: 6, y: y + 14, class: "lane-label" }, name)),
    ...Object.values(LANES).map((y) => el("rect", { x: left, y, width: right - left, height: LANE_H, class: "lane" })),
  ];
  // The time axis, under everything else.
  const step = span <= 30_000 ? 5_000 : span <= 90_000 ? 10_000 : 30_000;
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    nodes.push(el("line", { x1: x(t), x2: x(t), y1: LANES.status - 4, y2: AXIS_Y, class: "grid" }));
    nodes.push(el("text", { x: x(t), y: AXIS_Y + 13, class: "tick" }, clock(t)));
  }
  nodes[0].innerHTML = '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern>';

  // Spans: the status (and whether a refresh runs) and the socket, one per unchanged stretch.
  for (const part of stretches((s) => (s.refreshing ? `${s.status} (refresh)` : s.status), now)) {
    if (part.end < t0) continue;
    const w = x(part.end) - x(part.t);
    nodes.push(el("rect", { x: x(part.t), y: LANES.status, width: Math.max(w, 1), height: LANE_H, class: `span ${part.s.status}` }));
    if (w > 8 * part.key.length) nodes.push(el("text", { x: x(part.t) + 4, y: LANES.status + 14, class: "span-label" }, part.key));
  }
  for (const part of stretches((s) => s.transport, now)) {
    if (part.end < t0) continue;
    const w = x(part.end) - x(part.t);
    nodes.push(el("rect", { x: x(part.t), y: LANES.socket, width: Math.max(w, 1), height: LANE_H, class: `span socket-${part.key}` }));
    if (w > 8 * part.key.length) nodes.push(el("text", { x: x(part.t) + 4, y: LANES.socket + 14, class: "span-label" }, part.key));
  }

  // Waits: one bar per announced nextAttemptAt, from the first state that announced it.
  for (let i = 0; i < history.length; i++) {
    const { t, s } = history[i];
    const p = history[i - 1]?.s;
    if (!s.nextAttemptAt || p?.nextAttemptAt === s.nextAttemptAt) continue;
    // A wait that was cut short (a disconnect) ends at the first state without it.
    let until = s.nextAttemptAt;
    for (let j = i + 1; j < history.length; j++) {
      if (history[j].s.nextAttemptAt !== s.nextAttemptAt) {
        until = Math.min(until, history[j].t);
        break;
      }
    }
    if (until < t0) continue;
    const y = (s.tokenAttempt > 0 ? LANES.token : LANES.reconnect) + 3;
    const w = Math.max(x(until) - x(t), 1);
    nodes.push(el("rect", { x: x(t), y, width: w, height: LANE_H - 6, class: "wait", fill: "url(#hatch)" }));
    if (w >= 44) nodes.push(el("text", { x: x(t) + 3, y: y - 5, class: "wait-label" }, `wait ${seconds(s.nextAttemptAt - t)}`));
  }

  // Attempt markers; a label is left out where it would overlap the previous one.
  const lastLabel = { token: -Infinity, reconnect: -Infinity };
  const attempt = (lane, cx, label, cls) => {
    nodes.push(el("circle", { cx, cy: LANES[lane] + LANE_H / 2, r: 5, class: cls }));
    if (cx - lastLabel[lane] < 8 * label.length + 10) return;
    lastLabel[lane] = cx;
    nodes.push(el("text", { x: cx + 7, y: LANES[lane] + 14, class: "marker-label" }, label));
  };
  for (let i = 1; i < history.length; i++) {
    const { t, s } = history[i];
    const p = history[i - 1].s;
    if (t < t0) continue;
    if (s.tokenAttempt > p.tokenAttempt) attempt("token", x(t), `${s.refreshing ? "↻" : ""}T${s.tokenAttempt}`, s.refreshing ? "attempt refresh" : "attempt");
    if (s.reconnectAttempt > p.reconnectAttempt) attempt("reconnect", x(t), `R${s.reconnectAttempt}`, "attempt reconnect");
  }

  // This tab's provider calls, under the token lane.
  for (const call of providerCalls) {
    if ((call.end ?? now) < t0) continue;
    const y = LANES.token + LANE_H + 9;
    nodes.push(el("text", { x: x(call.t) - 4, y, class: "provider" }, "▲"));
    if (call.end !== undefined) nodes.push(el("text", { x: x(call.end) + 3, y, class: call.ok ? "provider ok" : "provider failed" }, call.ok ? "✓" : "✗"));
  }

  // Now.
  nodes.push(el("line", { x1: x(now), x2: x(now), y1: 10, y2: AXIS_Y, class: "now" }));
  nodes.push(el("text", { x: x(now) + 3, y: 12, class: "now-label" }, "now"));
  svg.setAttribute("viewBox", `0 0 ${width} ${AXIS_Y + 18}`);
  svg.replaceChildren(...nodes);
}

/** The history as stretches of equal `key(state)`: { key, s, t, end }. */
function stretches(key, now) {
  const out = [];
  for (const { t, s } of history) {
    const k = key(s);
    const last = out.at(-1);
    if (last?.key === k) continue;
    if (last) last.end = t;
    out.push({ key: k, s, t, end: now });
  }
  return out;
}

function clock(ms, withMillis = false) {
  const d = new Date(ms);
  const hms = d.toLocaleTimeString([], { hour12: false });
  return withMillis ? `${hms}.${String(d.getMilliseconds()).padStart(3, "0")}` : hms;
}

function seconds(ms) {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

// ---- wiring -----------------------------------------------------------------------------------

function init() {
  $("loading").hidden = true;
  try {
    const saved = JSON.parse(localStorage.getItem(CONFIGURATION_KEY) ?? "null");
    if (saved) for (const key of ["appId", "environment", "region"]) $(key).value = saved[key];
  } catch {
    // No saved configuration: the form keeps the demo app's defaults.
  }
  $("configure").onclick = configure;
  $("connect").onclick = () => connectToken($("userId").value.trim());
  $("connectLink").onclick = () => connectLink($("accessLink").value.trim());
  $("createRoom").onclick = createRoom;
  $("endRoom").onclick = endRoom;
  $("disconnect").onclick = () => disconnect(false);
  $("disconnectClear").onclick = () => disconnect(true);
  $("reset").onclick = reset;
  $("outageOn").onclick = () => setFaults({ outage: "refuse" });
  $("outageOff").onclick = () => setFaults({ outage: "none" });
  $("shortTokens").onchange = async (e) => {
    await setFaults({ tokenLifetimeSec: e.target.checked ? 10 : null });
    if (e.target.checked) log("tokens minted from now on live 10 s, so the session refreshes about every 5 s (a token minted before lives on: connect now, or wait for its refresh)");
  };
  $("window").onchange = render;
  // Another tab (or a test) may have changed the faults meanwhile.
  window.addEventListener("focus", () => void loadFaults());
  $("clearTimeline").onclick = () => {
    history.splice(0, history.length - 1);
    history[0].t = Date.now();
    providerCalls.length = 0;
    render();
  };
  renderConfigured();
  kaleyra.state.subscribe(onState);
  void loadFaults();
  void kaleyra.start();
  setInterval(render, 250);
}

// For the browser tests (test/browser) and for poking at the session from the console.
window.demo = { kaleyra, history, providerCalls, get lastError() { return lastError; } };

init();
