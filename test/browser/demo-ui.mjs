// Browser checks of what a person reads on the demo page (docs/demo.md), beyond the session flows
// in run.mjs: the timeline's labels never overlap (measured bounding boxes, at every zoom, on a
// wide and a 390 px screen), the fault label is live in a second tab, an outage while connected
// says what will happen and when, an error banner clears after a later successful action, and a
// disconnect with no session says so.
import { join } from "node:path";
import { assert, progress } from "./harness.mjs";

const ZOOMS = [["30 s", "30000"], ["90 s", "90000"], ["5 min", "300000"]];
export const PHONE = { width: 390, height: 844 };

/**
 * Five minutes of a busy session, as the page would have kept it: refreshes every 5 s (some
 * failing, retried after 1 s), then an outage's token cycles and reconnect attempts with their
 * waits, and this tab's provider calls. Dense on purpose: every zoom has more labels than room.
 */
function busyHistory(now) {
  const h = [];
  const calls = [];
  const base = { status: "connected", mode: "token", userId: "alice", tokenAttempt: 0, reconnectAttempt: 0, refreshing: false, transport: "open" };
  let t = now - 295_000;
  const push = (s) => h.push({ t, s: { ...base, ...s } });
  push({ status: "disconnected", transport: "idle", mode: undefined, userId: undefined });
  push({ status: "connecting", tokenAttempt: 1 });
  calls.push({ t, end: t + 120, ok: true });
  t += 400;
  let expiresAt = t + 10_000;
  push({ expiresAt });
  for (let i = 0; t < now - 120_000; i++) {
    t += 5_000;
    push({ refreshing: true, tokenAttempt: 1, expiresAt });
    if (i % 3 === 2) {
      calls.push({ t, end: t + 80, ok: false });
      push({ refreshing: true, tokenAttempt: 1, nextAttemptAt: t + 1_000, expiresAt });
      t += 1_000;
      push({ refreshing: true, tokenAttempt: 2, expiresAt });
    }
    calls.push({ t, end: t + 150, ok: true });
    t += 200;
    expiresAt = t + 10_000;
    push({ expiresAt });
  }
  // The outage: the refresh fails T1..T3, then reconnects R1..R6, each with its token cycle.
  for (let r = 0; r <= 6 && t < now - 3_000; r++) {
    if (r > 0) push({ status: "reconnecting", reconnectAttempt: r, expiresAt: undefined });
    for (let a = 1; a <= 3; a++) {
      push({ status: r ? "reconnecting" : "connected", refreshing: r === 0, reconnectAttempt: r, tokenAttempt: a, expiresAt: undefined });
      calls.push({ t, end: t + 60, ok: false });
      if (a < 3) {
        const wait = a === 1 ? 1_000 : 4_000;
        push({ status: r ? "reconnecting" : "connected", refreshing: r === 0, reconnectAttempt: r, tokenAttempt: a, nextAttemptAt: t + wait, expiresAt: undefined });
        t += wait;
      }
    }
    // R1 follows at once; later reconnects wait (the schedule, shortened to fit).
    const wait = [0, 3_000, 9_000, 27_000, 20_000, 15_000, 10_000][r] ?? 10_000;
    if (wait) push({ status: "reconnecting", reconnectAttempt: r, tokenAttempt: 0, nextAttemptAt: t + wait, expiresAt: undefined, transport: r % 2 ? "open" : "waiting" });
    t += wait || 500;
  }
  return { history: h.filter((e) => e.t <= now), calls: calls.filter((c) => c.t <= now) };
}

/**
 * Every text of the timeline against every other text, and against every dot and wait bar: the
 * pairs whose boxes intersect (by more than half a pixel). Also counts what is drawn, so a layout
 * that drops every label cannot pass.
 */
export function timelineOverlaps(page) {
  return page.evaluate(() => {
    const svg = document.getElementById("timeline");
    const box = (node) => {
      const r = node.getBoundingClientRect();
      return { node, name: node.textContent || node.getAttribute("class"), cls: node.getAttribute("class"), l: r.left, r: r.right, t: r.top, b: r.bottom };
    };
    const hit = (a, b) => Math.min(a.r, b.r) - Math.max(a.l, b.l) > 0.5 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 0.5;
    const texts = [...svg.querySelectorAll("text")].map(box);
    const shapes = [...svg.querySelectorAll("circle, rect.wait")].map(box);
    const overlaps = [];
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) if (hit(texts[i], texts[j])) overlaps.push(`"${texts[i].name}" / "${texts[j].name}"`);
      for (const shape of shapes) if (hit(texts[i], shape)) overlaps.push(`"${texts[i].name}" / ${shape.cls}`);
    }
    const count = (cls) => texts.filter((t) => t.cls?.split(" ").includes(cls)).length;
    const width = svg.getBoundingClientRect().width;
    const outside = texts.filter((t) => t.l < svg.getBoundingClientRect().left - 0.5 || t.r > svg.getBoundingClientRect().right + 0.5).map((t) => t.name);
    return { overlaps, outside, width, markers: count("marker-label"), waits: count("wait-label"), provider: count("provider"), ticks: count("tick"), dots: svg.querySelectorAll("circle").length };
  });
}

/** At each zoom: no overlap, nothing outside the SVG, and labels really drawn. */
async function checkEveryZoom(page, where, { artifacts, shots = {} } = {}) {
  for (const [name, value] of ZOOMS) {
    await page.selectOption("#window", value);
    await page.evaluate(() => window.demo.render());
    const m = await timelineOverlaps(page);
    assert(m.overlaps.length === 0, `${where}, ${name}: overlapping timeline texts: ${m.overlaps.slice(0, 8).join("; ")}`);
    assert(m.outside.length === 0, `${where}, ${name}: texts outside the timeline: ${m.outside.join(", ")}`);
    assert(m.markers >= 2 && m.ticks >= 2, `${where}, ${name}: too few labels drawn (${JSON.stringify(m)})`);
    progress(`  ${where}, ${name}: ${m.markers} attempt labels, ${m.waits} wait labels, ${m.provider} provider marks, ${m.ticks} ticks for ${m.dots} dots; no overlap`);
    if (shots[value] && artifacts) {
      await page.locator("#timeline").screenshot({ path: join(artifacts, shots[value]) });
      progress(`  screenshot: test-artifacts/${shots[value]}`);
    }
  }
}

export async function timelineLabels(browser, openDemo, artifacts) {
  progress("9. timeline labels never overlap dots, bars or each other (every zoom; 1280 px and 390 px)");
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const tab = await openDemo(context, "timeline", { configure: false });
  await tab.evaluate(({ history, calls }) => {
    window.demo.history.splice(0, window.demo.history.length, ...history);
    window.demo.providerCalls.splice(0, window.demo.providerCalls.length, ...calls);
  }, busyHistory(await tab.evaluate(() => Date.now())));
  await checkEveryZoom(tab, "1280 px", { artifacts, shots: { 90000: "demo-timeline-90s.png", 300000: "demo-timeline-5min.png" } });
  await tab.setViewportSize(PHONE);
  await checkEveryZoom(tab, "390 px", { artifacts, shots: { 90000: "demo-timeline-390px-90s.png", 300000: "demo-timeline-390px-5min.png" } });
  const headings = await brokenHeadingWords(tab);
  assert(headings.broken.length === 0, `390 px: heading words broken across lines: ${headings.broken.join(", ")}`);
  assert(!/issue \d/i.test(headings.text), `390 px: a heading names an internal issue: ${headings.text}`);
  progress(`  390 px: ${headings.words} heading words, none broken across lines, no internal issue number`);
  await tab.screenshot({ path: join(artifacts, "demo-390px.png"), fullPage: true });
  progress("  screenshot: test-artifacts/demo-390px.png");
  await context.close();
}

/** During an outage: the real page's timeline, at every zoom. */
export async function outageTimelineLabels(tab) {
  await checkEveryZoom(tab, "outage page");
}

/**
 * An outage while connected: the page says the session stays connected until its next refresh
 * and when that is due; a second tab's fault label follows (no reload, no focus). Outage off
 * clears both.
 */
export async function outageWhileConnected(tab1, tab2, artifacts) {
  progress("5. outage while connected: the page says what happens and when; a second tab's fault label is live");
  const s = await tab1.evaluate(() => window.demo.kaleyra.state.value);
  assert(s.status === "connected" && s.expiresAt && s.refreshAt, `connected with a token and a refresh time: ${JSON.stringify(s)}`);
  await tab1.click("#outageOn");
  await tab1.waitForFunction(() => !document.getElementById("faultNote").hidden, undefined, { timeout: 5_000 });
  const note = await tab1.locator("#faultNote").innerText();
  const due = new Date(s.refreshAt).toLocaleTimeString([], { hour12: false });
  assert(note.includes("stays connected until its next token refresh") && note.includes(`due at ${due}`), `the note names the next refresh (${due}): "${note}"`);
  progress(`  tab1: "${note.slice(0, 110)}…"`);
  // The second tab never clicked anything: its label follows the emulator by polling.
  await tab2.waitForFunction(() => document.getElementById("faults").textContent.startsWith("outage: refuse"), undefined, { timeout: 8_000 });
  await tab2.waitForFunction(() => !document.getElementById("faultNote").hidden, undefined, { timeout: 2_000 });
  progress("  tab2 shows outage: refuse and the same note without a reload");
  await tab1.screenshot({ path: join(artifacts, "demo-outage-connected.png"), fullPage: true });
  progress("  screenshot: test-artifacts/demo-outage-connected.png");
  await tab1.click("#outageOff");
  await tab2.waitForFunction(() => document.getElementById("faults").textContent.startsWith("outage: none") && document.getElementById("faultNote").hidden, undefined, { timeout: 8_000 });
  assert(await tab1.locator("#faultNote").isHidden(), "tab1's note is gone after outage off");
  progress("  outage off: both tabs show outage: none, the note is gone");
}

/** A banner from a failed action goes away after a later action succeeds. */
export async function bannerClears(tab) {
  assert(await tab.locator("#error").isVisible(), "a banner is shown before the check");
  await tab.click("#outageOff");
  await tab.waitForFunction(() => document.getElementById("error").hidden, undefined, { timeout: 5_000 });
  progress("  the banner cleared after a later successful action (outage off)");
}

/** Disconnect in a tab that never had a session: resolved, and the log does not say the server took it. */
export async function disconnectWithoutSession(browser, openDemo) {
  progress("10. disconnect in a tab with no session says there was nothing to end");
  const context = await browser.newContext({ viewport: PHONE });
  const tab = await openDemo(context, "nosession", { configure: false });
  await tab.click("#disconnect");
  await tab.waitForFunction(() => document.getElementById("log").textContent.includes("disconnect resolved"), undefined, { timeout: 5_000 });
  const log = await tab.locator("#log").innerText();
  assert(log.includes("this tab had no session") && !log.includes("the server took it"), `log: ${log}`);
  assert(await tab.locator("#error").isHidden(), "no banner");
  progress("  logged: disconnect resolved: this tab had no session, nothing to end");
  await context.close();
}

/** The words of the page's headings that the layout breaks across two lines (at the current width). */
function brokenHeadingWords(page) {
  return page.evaluate(() => {
    const broken = [];
    let words = 0;
    const headings = [...document.querySelectorAll("h1, h2")];
    for (const heading of headings) {
      const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.textContent.matchAll(/\S+/g)) {
          words += 1;
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (tops.size > 1) broken.push(m[0]);
        }
      }
    }
    return { broken, words, text: headings.map((h) => h.textContent).join(" | ") };
  });
}

/**
 * A tab whose session another tab ended follows when that tab connects again: it joins with the
 * resume credential they share in saved data, asking its own provider nothing.
 */
export async function secondTabFollows(tab1, tab2, { connected, providerCalls }) {
  progress("8b. after tab1 ended the session and connects again, tab2 follows without a token request");
  const asked = await providerCalls(tab2);
  await tab1.click("#connect");
  await connected(tab1);
  await connected(tab2);
  assert((await providerCalls(tab2)) === asked, "tab2 asked its provider to follow");
  assert((await tab2.locator("#log").innerText()).includes("another tab connected"), "tab2's log says why it joined");
  progress("  tab2 joined tab1's new session with the saved resume credential");
}

/** No tab polls the emulator's faults: over `ms` of a running session, at most one read in all. */
export async function noFaultPolling(context, ms) {
  let reads = 0;
  const count = (r) => void (new URL(r.url()).pathname === "/emulator/control/faults" && r.method() === "GET" && (reads += 1));
  context.on("request", count);
  await new Promise((r) => setTimeout(r, ms));
  context.off("request", count);
  assert(reads <= 1, `the pages read the faults ${reads} times in ${ms} ms: they poll`);
  progress(`  the pages read the emulator's faults ${reads} time(s) in ${ms / 1000} s: no polling`);
}
