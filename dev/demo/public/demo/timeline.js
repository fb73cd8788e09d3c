// The demo's timeline (docs/demo.md, "Reading the timeline"): four lanes on one time axis, drawn
// as SVG from the states the page kept.
// Invariant: no two texts overlap, and no label overlaps a dot, a wait bar or a provider mark, at
// any zoom and any width (the browser tests measure it). Attempt and wait labels go in rows of
// their own above their lane, placed newest first into the nearest row where they fit; a label
// that fits no row is left out, and its dot or bar keeps it as a tooltip. Every width is measured
// in the page's own font, not guessed from the number of characters. Relayed events are thin ticks
// in the socket lane, without a label (a tooltip names them), drawn under every text.
import { clock, seconds } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const LANE_H = 20;
/** A row of labels: taller than an 11 px text's box, so rows never touch. */
const ROW_H = 16;
const LABEL_ROWS = 2;
/** The smallest gap between two texts on one row. */
const GAP = 6;
const LEFT = 92;

/** The lanes' geometry, top to bottom: y of each lane and of each lane's label rows. */
const Y = (() => {
  let y = ROW_H; // the "now" label's row
  const status = (y += 2);
  const tokenRows = (y += LANE_H + 2);
  const token = (y += LABEL_ROWS * ROW_H);
  const provider = (y += LANE_H);
  const reconnectRows = (y += ROW_H + 4);
  const reconnect = (y += LABEL_ROWS * ROW_H);
  const socket = (y += LANE_H + 4);
  const axis = (y += LANE_H + 4);
  return { status, tokenRows, token, provider, reconnectRows, reconnect, socket, axis, height: axis + ROW_H };
})();
const LANES = { status: Y.status, token: Y.token, reconnect: Y.reconnect, socket: Y.socket };

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A tooltip on a shape: what its label says when the label did not fit. */
function titled(node, text) {
  node.append(el("title", {}, text));
  return node;
}

let measureContext;
/** The width of `text` in the timeline's font at `size` px (`weight` as in app.css). */
function textWidth(svg, text, size, weight = 400) {
  measureContext ??= document.createElement("canvas").getContext("2d");
  measureContext.font = `${weight} ${size}px ${getComputedStyle(svg).fontFamily}`;
  return Math.ceil(measureContext.measureText(text).width);
}

/** Rows of placed intervals: `place` answers the first row where [x, x+w] keeps GAP from all, or -1. */
function rows(count) {
  const placed = Array.from({ length: count }, () => []);
  return (x, w) => {
    for (let r = 0; r < count; r++) {
      if (placed[r].every(([a, b]) => x + w + GAP <= a || x >= b + GAP)) {
        placed[r].push([x, x + w]);
        return r;
      }
    }
    return -1;
  };
}

/** Tick spacing: the smallest step whose labels keep GAP apart at this scale. */
function tickStep(pxPerMs, labelWidth) {
  for (const step of [5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000]) {
    if (step * pxPerMs >= labelWidth + 2 * GAP) return step;
  }
  return 600_000;
}

/**
 * Draws `history` ({ t, s } states as they arrived) and `providerCalls` ({ t, end?, ok? }) over
 * the last `span` ms into `svg`: the status and the socket as colored spans; token and reconnect
 * attempts as dots, each wait as a hatched bar from the state that announced it to its
 * nextAttemptAt (a token wait while tokenAttempt > 0, else a reconnect wait).
 */
export function drawTimeline(svg, { history, providerCalls, relayed = [], wakes = [], span, now }) {
  const width = svg.clientWidth || 900;
  const t1 = now + span * 0.12;
  const t0 = t1 - span;
  const right = width - 8;
  const pxPerMs = (right - LEFT) / (t1 - t0);
  const x = (t) => LEFT + (Math.min(Math.max(t, t0), t1) - t0) * pxPerMs;
  const defs = el("defs", {});
  defs.innerHTML = '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern>';
  const nodes = [
    defs,
    ...Object.entries(LANES).map(([name, y]) => el("text", { x: 6, y: y + 14, class: "lane-label" }, name)),
    ...Object.values(LANES).map((y) => el("rect", { x: LEFT, y, width: right - LEFT, height: LANE_H, class: "lane" })),
  ];
  const texts = []; // drawn after the shapes, so a label is never hidden under a bar

  // The time axis, under everything else; ticks as far apart as their labels need.
  const step = tickStep(pxPerMs, textWidth(svg, clock(now), 10));
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    nodes.push(el("line", { x1: x(t), x2: x(t), y1: Y.status - 4, y2: Y.axis, class: "grid" }));
    const w = textWidth(svg, clock(t), 10);
    if (x(t) - w / 2 >= LEFT - GAP && x(t) + w / 2 <= width) texts.push(el("text", { x: x(t), y: Y.axis + 12, class: "tick" }, clock(t)));
  }

  // Spans: the status (and whether a refresh runs) and the socket, one per unchanged stretch;
  // a span's name is written inside it only where it fits.
  const spans = (lane, key, cls) => {
    for (const part of stretches(history, key, now)) {
      if (part.end < t0) continue;
      const w = x(part.end) - x(part.t);
      nodes.push(titled(el("rect", { x: x(part.t), y: LANES[lane], width: Math.max(w, 1), height: LANE_H, class: `span ${cls(part)}` }), part.key));
      if (w >= textWidth(svg, part.key, 11) + 8) texts.push(el("text", { x: x(part.t) + 4, y: LANES[lane] + 14, class: "span-label" }, part.key));
    }
  };
  spans("status", (s) => (s.refreshing ? `${s.status} (refresh)` : s.status), (part) => part.s.status);
  spans("socket", (s) => s.transport, (part) => `socket-${part.key}`);

  // Relayed Kaleyra events: a tick each in the socket lane.
  for (const { t, name, seq } of relayed) {
    if (t < t0) continue;
    nodes.push(titled(el("rect", { x: x(t) - 1, y: LANES.socket, width: 2, height: LANE_H, class: "relay" }), `relayed #${seq} ${name} at ${clock(t, true)}`));
  }

  // Wakes (docs/push.md): the session woke this app while no tab was open; a taller tick in the socket lane.
  for (const { t, reason, name } of wakes) {
    if (t < t0) continue;
    nodes.push(titled(el("rect", { x: x(t) - 2, y: LANES.socket - 3, width: 4, height: LANE_H + 6, class: "wake" }), `woken (${reason}: ${name}) at ${clock(t, true)}`));
  }

  // Labels of the token and reconnect lanes, placed after all shapes are known (newest first).
  const labels = { token: [], reconnect: [] };

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
    const lane = s.tokenAttempt > 0 ? "token" : "reconnect";
    const text = `wait ${seconds(s.nextAttemptAt - t)}`;
    nodes.push(titled(el("rect", { x: x(t), y: LANES[lane] + 3, width: Math.max(x(until) - x(t), 1), height: LANE_H - 6, class: "wait", fill: "url(#hatch)" }), text));
    labels[lane].push({ at: x(t), text, size: 10, cls: "wait-label", anchor: "start" });
  }

  // Attempt dots, each labelled above its lane.
  for (let i = 1; i < history.length; i++) {
    const { t, s } = history[i];
    const p = history[i - 1].s;
    if (t < t0) continue;
    const dot = (lane, text, cls) => {
      nodes.push(titled(el("circle", { cx: x(t), cy: LANES[lane] + LANE_H / 2, r: 5, class: cls }), `${text} at ${clock(t, true)}`));
      labels[lane].push({ at: x(t), text, size: 11, weight: 600, cls: "marker-label", anchor: "middle" });
    };
    if (s.tokenAttempt > p.tokenAttempt) dot("token", `${s.refreshing ? "↻" : ""}T${s.tokenAttempt}`, s.refreshing ? "attempt refresh" : "attempt");
    if (s.reconnectAttempt > p.reconnectAttempt) dot("reconnect", `R${s.reconnectAttempt}`, "attempt reconnect");
  }

  for (const [lane, items] of Object.entries(labels)) {
    const place = rows(LABEL_ROWS);
    const top = lane === "token" ? Y.tokenRows : Y.reconnectRows;
    for (const item of items.sort((a, b) => b.at - a.at)) {
      const w = textWidth(svg, item.text, item.size, item.weight);
      const start = Math.min(Math.max(item.anchor === "middle" ? item.at - w / 2 : item.at, LEFT), right - w);
      const row = place(start, w);
      if (row < 0) continue;
      // Row 0 is the one nearest the lane.
      texts.push(el("text", { x: start, y: top + (LABEL_ROWS - row) * ROW_H - 4, class: item.cls }, item.text));
    }
  }

  // This tab's provider calls, in their row under the token lane: ▲ asked, then ✓ or ✗; the two
  // merge into one mark where they would touch, and a mark that does not fit is left out.
  const marks = [];
  for (const call of providerCalls) {
    if ((call.end ?? now) < t0) continue;
    const answer = call.end === undefined ? "" : call.ok ? "✓" : "✗";
    const cls = call.end === undefined ? "provider" : call.ok ? "provider ok" : "provider failed";
    if (answer && x(call.end) - x(call.t) >= textWidth(svg, "▲", 10) + GAP) {
      marks.push({ at: x(call.t), text: "▲", cls: "provider" }, { at: x(call.end), text: answer, cls });
    } else {
      marks.push({ at: x(call.t), text: `▲${answer}`, cls });
    }
  }
  const placeMark = rows(1);
  for (const mark of marks.sort((a, b) => b.at - a.at)) {
    const w = textWidth(svg, mark.text, 10);
    const start = Math.min(Math.max(mark.at - w / 2, LEFT), right - w);
    if (placeMark(start, w) === 0) texts.push(el("text", { x: start, y: Y.provider + ROW_H - 4, class: mark.cls }, mark.text));
  }

  // Now.
  nodes.push(el("line", { x1: x(now), x2: x(now), y1: 4, y2: Y.axis, class: "now" }));
  texts.push(el("text", { x: x(now) + 3, y: ROW_H - 4, class: "now-label" }, "now"));
  svg.setAttribute("viewBox", `0 0 ${width} ${Y.height}`);
  svg.style.height = `${Y.height}px`;
  svg.replaceChildren(...nodes, ...texts);
}

/** The history as stretches of equal `key(state)`: { key, s, t, end }. */
function stretches(history, key, now) {
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
