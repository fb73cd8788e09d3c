// The browser tests' harness: `npm start` on a free port (scripts/lib/wrangler.mjs: its own
// process group and state directory), a TCP forwarder in front of it that can cut the network, Chromium through
// playwright-core, and bounded waits. Every wait has a deadline; every process started here is
// stopped by `stopAll()`.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { requestJson } from "../../scripts/lib/http.mjs";
import { sleep, waitUntil } from "../../scripts/lib/proc.mjs";
import { WranglerDev } from "../../scripts/lib/wrangler.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

const started = Date.now();
const cleanups = [];

export function progress(line) {
  console.log(`[browser ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
}

/** Runs `fn` at stopAll(), latest first. */
export function onStop(fn) {
  cleanups.push(fn);
}

export async function stopAll() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (error) {
      console.error(`cleanup failed: ${error.message}`);
    }
  }
}

export { sleep };

/** Polls `check` (sync or async) until it returns a truthy value; fails after `ms`. */
export const until = (what, check, ms = 10_000, every = 100) => waitUntil(check, what, ms, every);

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/**
 * `npm start` (which builds the demo's client bundle first) on a free port, in its own process
 * group (scripts/lib/wrangler.mjs), with its local state in a fresh directory. Resolves once
 * /healthz answers (60 s at most).
 */
export async function startServer(root) {
  const state = mkdtempSync(join(tmpdir(), "kaleyra-edge-browser-state-"));
  const server = new WranglerDev({ name: "npm start", npmStart: true, cwd: root, persistTo: join(state, "state"), logPath: join(state, "npm-start.log") });
  onStop(async () => {
    await server.kill().catch(() => {});
    rmSync(state, { recursive: true, force: true });
  });
  try {
    await server.start(60_000);
  } catch (error) {
    throw new Error(`${error.message}; its log:\n${server.logTail(80)}`);
  }
  return { base: server.base, port: server.port, log: () => server.logTail(40) };
}

/**
 * A TCP forwarder in front of the server: the browser talks to it, so a test can cut every open
 * connection (sockets drop as on a real network loss) and refuse new ones until restored.
 */
export async function startForwarder(targetPort) {
  const open = new Set();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    const pair = [client, upstream];
    for (const s of pair) open.add(s);
    const close = () => {
      for (const s of pair) {
        s.destroy();
        open.delete(s);
      }
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  onStop(() => new Promise((resolve) => {
    for (const s of open) s.destroy();
    server.close(() => resolve());
  }));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    /** Drops every open connection and refuses new ones. */
    cut() {
      cut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
  };
}

/** Fails at once when there is no Chromium, before anything is started. */
export function requireChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
}

export async function launchBrowser() {
  requireChromium();
  // launch() gives the browser a fresh temporary --user-data-dir of its own and deletes it on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  onStop(() => browser.close());
  progress(`Chromium ${browser.version()}`);
  return browser;
}

/** A new page whose console errors and page errors are collected (and printed on failure). */
export async function newPage(context, name) {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(`${name}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(`${name}: console: ${m.text()}`);
  });
  page.label = name;
  return page;
}

/** JSON over HTTP with a deadline; answers { status, json, text }. */
export const http = (method, url, body, headers) => requestJson(url, { method, body, headers });
