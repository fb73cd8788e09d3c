// The kaleyra-edge demo page (docs/demo.md). Plain DOM, no framework: it drives the thin client
// (KaleyraVideo, bundled from client/ by dev/demo/build.mjs) and draws what the state frames say.
// Everything the session does (token attempts, waits, reconnects, refreshes) happens in the
// user's Durable Object; this page only answers token requests and renders.
import { emulatorFaults, outageEffect } from "./faults.js";
import { clock, duration, seconds } from "./format.js";
import { KaleyraVideo } from "./kaleyra-client.js";
import { ANY, relay } from "./kaleyra-relay.js";
import { drawTimeline } from "./timeline.js";
import { wakePanel } from "./wake.js";

const $ = (id) => document.getElementById(id);
/** The client's saved configuration (docs/client.md, "Saved data"): fills the form after a reload. */
const CONFIGURATION_KEY = "kaleyra.configuration";
/** The client's saved session (a reload's disconnect() still ends it). */
const SESSION_KEY = "kaleyra.session";
const HISTORY_MS = 10 * 60_000;
/** core/refresh.ts: a token is refreshed 60 s before it expires, or halfway when that is sooner. */
const REFRESH_LEAD_MS = 60_000;

/** Every state the client reported, with the local time it arrived: the timeline's data. */
const history = [];
/** This tab's token provider calls: { t, end?, ok? }. */
const providerCalls = [];
/** The Kaleyra events the session relayed to this tab: { t, name, seq }, the timeline's ticks. */
const relayed = [];
let lastError;
let room;
/** The emulator's faults (`faults.current`: { outage, tokenLifetimeSec, ... }), kept live without polling. */
const faults = emulatorFaults(() => renderFaults());

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

// The relay (docs/client.md, "Relay"): attached before start(), so a reload sends the last seq seen
// and is sent what it missed.
const remote = relay(kaleyra, {
  onGap: (after) => log(`relay gap: the session could not send every event after #${after}; some may be missing`),
});
remote.on(ANY, (data, { name, seq }) => {
  relayed.push({ t: Date.now(), name, seq });
  while (relayed.length > 500) relayed.shift();
  log(`relayed event #${seq} ${name} ${JSON.stringify(data)}`);
  render();
});

// The Wake panel (wake.js): its `woken` listener is in place before start() attaches.
const wakes = wakePanel({ kaleyra, appId: () => appId(), log, succeeded, showError, render: () => render() });

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
    (user) => succeeded(`connect resolved: connected as "${user.userId}"`),
    (error) => showError("connect", error),
  );
}

function connectLink(link) {
  clearError();
  log("connect(accessLink)");
  kaleyra.connect(link).then(
    (user) => succeeded(`connect(accessLink) resolved: connected as "${user.userId}"`),
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
  // The client resolves at once when it has no session and saved data names none: nothing was sent.
  const hadSession = kaleyra.state.value.status !== "disconnected" || localStorage.getItem(SESSION_KEY) !== null;
  log(`disconnect({ clearSavedData: ${clearSavedData} })`);
  try {
    await kaleyra.disconnect({ clearSavedData });
    succeeded(hadSession ? "disconnect resolved: the server took it" : "disconnect resolved: this tab had no session, nothing to end");
  } catch (error) {
    showError("disconnect", error);
  }
}

async function reset() {
  log("reset()");
  try {
    await kaleyra.reset();
    succeeded("reset resolved: disconnected, configuration dropped");
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
  succeeded(`room ${answer.roomId} created with "${mine.userId}" and "${guest.userId}"`);
}

async function endRoom() {
  if (!room) return;
  const answer = await backend(`/demo/room/${encodeURIComponent(room.roomId)}/end`, { appId: appId() });
  if (!answer) return;
  succeeded(`room ${room.roomId} ended: its link sessions end with call_ended`);
  roomEnded();
}

/** The room's links no longer connect to anything: none stays in the input to be clicked again. */
function roomEnded() {
  $("accessLink").value = "";
  $("endRoom").disabled = true;
  if (room) $("room").textContent = `room ${room.roomId} ended`;
}

/** Emits a sample request through the relay; the emulator answers it with an ack. */
async function relayEmit() {
  const status = $("relayStatus").value;
  log(`relay.emit("user:status:set", { status: "${status}" })`);
  try {
    succeeded(`ack of user:status:set: ${JSON.stringify(await remote.emit("user:status:set", { status }))}`);
  } catch (error) {
    showError("relay.emit", error);
  }
}

/** Has the emulator send call:incoming on the connected user's Kaleyra connection. */
async function relayIncoming() {
  const userId = kaleyra.connectedUser?.userId ?? $("userId").value.trim();
  const answer = await backend("/emulator/control/relay/events", { appId: appId(), userId, name: "call:incoming", data: { from: "demo-caller" } });
  if (answer) succeeded(`emulator sent call:incoming to "${userId}" on ${answer.delivered} Kaleyra connection(s)`);
}

async function setFaults(change) {
  try {
    succeeded(`emulator faults: ${JSON.stringify(await faults.set(change))}`);
  } catch (error) {
    showError("faults", { code: "emulator", message: error.message });
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

/** The token session the client saved (shared by every tab of this origin), or undefined. */
function savedSession() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null") ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Another tab connected a session of this app (its client saved a resume credential): this tab,
 * if it has none of its own, joins it as a reload would. The join proves with that saved
 * credential, so it asks no token and starts nothing.
 */
function followOtherTab(event) {
  if (event.key !== SESSION_KEY || event.newValue === null) return;
  const saved = savedSession();
  const s = kaleyra.state.value;
  if (!saved?.resume || saved.appId !== appId() || !kaleyra.isConfigured || s.status !== "disconnected" || s.transport !== "idle") return;
  log(`another tab connected "${saved.userId}": joining that session`);
  $("userId").value = saved.userId;
  connectToken(saved.userId);
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
  // A change of status or lastError is when an outage (set anywhere) shows: read the faults then.
  if (previous && (previous.status !== s.status || previous.lastError !== s.lastError)) void faults.load();
  if (s.reason === "call_ended" && previous?.reason !== "call_ended") roomEnded();
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

/** An action worked: log it, and drop the banner of an earlier failure (it is no longer news). */
function succeeded(text) {
  log(text);
  clearError();
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
    ["nextAttemptAt", s.nextAttemptAt ? `${clock(s.nextAttemptAt)} (in ${duration(s.nextAttemptAt - now)})` : "–"],
    ["expiresAt", s.expiresAt ? `${clock(s.expiresAt)} (in ${duration(s.expiresAt - now)})` : "–"],
    ["error / reason", [s.error, s.reason].filter(Boolean).join(" / ") || "–"],
    ["client failure", s.failure ? s.failure.code : "–"],
    // Why the session is failing, as the server words it (present only while there is one).
    ...(s.lastError ? [["lastError", s.lastError]] : []),
    ["provider calls (this tab)", `${providerCalls.length}`],
    ["relayed events (this tab)", `${relayed.length}${remote.seq !== undefined ? `, last seq ${remote.seq}` : ""}`],
  ];
  $("state").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    if (k === "lastError") tr.className = "last-error";
    const th = document.createElement("th");
    const td = document.createElement("td");
    th.textContent = k;
    td.textContent = String(v);
    tr.append(th, td);
    return tr;
  }));
  drawTimeline($("timeline"), { history, providerCalls, relayed, wakes, span: Number($("window").value), now });
  renderFaultNote(s, now);
}

function renderConfigured() {
  const pill = $("configured");
  pill.textContent = kaleyra.isConfigured ? `configured: ${appId()}` : "not configured";
  pill.classList.toggle("on", kaleyra.isConfigured);
}

function renderFaults() {
  const f = faults.current;
  if (!f) return;
  $("faults").textContent = `outage: ${f.outage}${f.tokenLifetimeSec ? ` · tokens live ${f.tokenLifetimeSec} s` : ""}${f.latencyMs ? ` · latency ${f.latencyMs} ms` : ""}${f.errorRate ? ` · error rate ${f.errorRate}` : ""}`;
  $("faults").classList.toggle("alert", f.outage !== "none");
  $("shortTokens").checked = f.tokenLifetimeSec !== null;
  renderFaultNote(kaleyra.state.value, Date.now());
}

/** During an outage, the note of what it will do to this tab's session, and when (faults.js). */
function renderFaultNote(s, now) {
  const note = $("faultNote");
  const f = faults.current;
  const text = f && f.outage !== "none" ? outageEffect(s, now, { refreshDue, savedUser: savedSession()?.userId }) : "";
  note.hidden = !text;
  note.textContent = text;
}

/** A fallback for a server that does not send refreshAt: the latest time core/refresh.ts allows. */
function refreshDue(expiresAt) {
  const since = history.find((h) => h.s.expiresAt === expiresAt)?.t ?? Date.now();
  return expiresAt - Math.min(REFRESH_LEAD_MS, Math.floor(Math.max(0, expiresAt - since) / 2));
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
  $("relayEmit").onclick = relayEmit;
  $("relayIncoming").onclick = relayIncoming;
  $("outageOn").onclick = () => setFaults({ outage: "refuse" });
  $("outageOff").onclick = () => setFaults({ outage: "none" });
  $("shortTokens").onchange = async (e) => {
    await setFaults({ tokenLifetimeSec: e.target.checked ? 10 : null });
    if (e.target.checked) log("tokens minted from now on live 10 s, so the session refreshes about every 5 s (a token minted before lives on: connect now, or wait for its refresh)");
  };
  $("window").onchange = render;
  // Another tab says when it changes the faults (faults.js); curl or a test shows up on focus.
  window.addEventListener("focus", () => void faults.load());
  document.addEventListener("visibilitychange", () => void (document.visibilityState === "visible" && faults.load()));
  window.addEventListener("storage", followOtherTab);
  $("clearTimeline").onclick = () => {
    history.splice(0, history.length - 1);
    history[0].t = Date.now();
    providerCalls.length = 0;
    relayed.length = 0;
    wakes.length = 0;
    render();
  };
  renderConfigured();
  kaleyra.state.subscribe(onState);
  void faults.load();
  void kaleyra.start();
  setInterval(render, 250);
}

// For the browser tests (test/browser) and for poking at the session from the console.
window.demo = { kaleyra, remote, history, providerCalls, relayed, wakes, render, get lastError() { return lastError; } };

init();
