#!/usr/bin/env node
// Runs README.md's curl lines against a fresh `npm start` (own port, PORT or 8819; a new state
// directory, so "the first time" answers are the documented ones) in README order, and compares
// every answer with the one the README documents under the command (scripts/lib/doc-json.mjs
// says how `…`, timestamps and keys match). The first comment line under a command is its
// answer, `# <status> <json or words>`; later comment lines are prose and are not checked.
// Admin and tenant answers are also checked against /openapi.json: a key its schema does not
// declare fails. Where the README has a raw client connect alice ("A raw client opens ws://…"),
// this script does so, with the README's frames, so the tenant API sees the session it documents.
// Prints one line per command; exits 1 on any difference. `npm run test:readme`; CI runs it.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mismatches, parsePattern, undeclaredKeys } from "./lib/doc-json.mjs";
import { sleep, waitUntil } from "./lib/proc.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8819);
const base = `http://127.0.0.1:${port}`;
const DOCUMENTED_BASE = "http://127.0.0.1:8787";
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The README's shell blocks as commands, each with the comment lines under it. */
function commands() {
  const out = [];
  for (const [, block] of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block.split("\n");
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      if (line.trim() === "" || line.startsWith("#")) continue;
      while (line.endsWith("\\")) line = `${line.slice(0, -1)} ${lines[++i].trim()}`;
      const comments = [];
      while (lines[i + 1]?.startsWith("#")) comments.push(lines[++i].replace(/^#\s?/, ""));
      out.push({ line: line.replace(/\s+#.*$/, "").trim(), comments });
    }
  }
  return out;
}

/** `# 201 {…}` -> { status: 201, pattern }, the JSON may continue on the next comment lines. */
function expectation(comments) {
  const [first = "", ...more] = comments;
  const m = /^(\d{3})?\s*(.*)$/.exec(first.trim());
  const status = m[1] === undefined ? undefined : Number(m[1]);
  let text = m[2].replaceAll(DOCUMENTED_BASE, base);
  if (!/^[[{]/.test(text)) return { status };
  for (let used = 0; ; used++) {
    try {
      return { status, pattern: parsePattern(text)[0] };
    } catch (error) {
      if (used >= more.length) throw error;
      text += ` ${more[used].trim().replaceAll(DOCUMENTED_BASE, base)}`;
    }
  }
}

const shellVars = [];
const seen = new Map(); // documented generated value -> this run's
const substitute = (text) => {
  let out = text.replaceAll(DOCUMENTED_BASE, base).replaceAll(DOCUMENTED_BASE.replace("http:", "ws:"), base.replace("http:", "ws:"));
  for (const [documented, actual] of [...seen].sort((a, b) => b[0].length - a[0].length)) out = out.replaceAll(`${documented}…`, actual).replaceAll(documented, actual);
  return out;
};

async function curl(line) {
  const script = [...shellVars, substitute(line).replace(/^curl /, "curl -w '\\n%{http_code}' --max-time 20 ")].join("\n");
  const { stdout } = await promisify(execFile)("bash", ["-c", script], { timeout: 30_000 });
  const cut = stdout.lastIndexOf("\n");
  const body = stdout.slice(0, cut);
  let json;
  try {
    json = body === "" ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(stdout.slice(cut + 1)), body, json };
}

let openapi;
function undeclared(line, status, json) {
  const method = /-X (\w+)/.exec(line)?.[1] ?? "GET";
  const path = new URL(/'?(http:\/\/[^\s']+)/.exec(substitute(line))[1]).pathname;
  if (!path.startsWith("/v1/")) return [];
  const template = Object.keys(openapi.paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path));
  const schema = openapi.paths[template]?.[method.toLowerCase()]?.responses?.[status]?.content?.["application/json"]?.schema;
  return undeclaredKeys(schema, json, openapi.components.schemas).map((key) => `${key}: in the answer, not in /openapi.json's schema`);
}

/** The README's raw client: alice's socket, proven with the token it just got; kept open. */
async function rawClient(token) {
  const url = substitute(/`(ws:\/\/127\.0\.0\.1:8787\/[^`]+)`/.exec(readme)[1]);
  const firstFrame = /is sent `(\{"type":"auth_required"[^`]*\})`/.exec(readme)[1];
  const ws = new WebSocket(url);
  const frames = [];
  ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data)));
  await waitUntil(() => frames.length >= 1, "the socket's first frame", 10_000);
  const problems = mismatches(parsePattern(firstFrame)[0], frames[0], "first frame");
  ws.send(JSON.stringify({ type: "auth", token }));
  await waitUntil(() => frames.some((f) => f.type === "state" && f.state.status === "connected") && frames.some((f) => f.type === "resume"), "state connected and a resume credential", 15_000).catch((e) => problems.push(e.message));
  ws.send(JSON.stringify({ type: "connect", userId: "alice" }));
  await sleep(300);
  problems.push(...frames.filter((f) => f.type === "error").map((f) => `an error frame: ${JSON.stringify(f)}`));
  report("raw client: auth_required, auth with the token, state connected, resume, connect (a join)", problems);
  return { ws, frames };
}

let failed = 0;
function report(what, problems) {
  console.log(`${problems.length === 0 ? "ok  " : "FAIL"} ${what}`);
  for (const p of problems) console.log(`       ${p}`);
  if (problems.length > 0) failed++;
}

const state = mkdtempSync(join(tmpdir(), "kaleyra-edge-readme-"));
const log = join(state, "server.log");
const server = spawn("npm", ["start", "--", "--persist-to", join(state, "wrangler")], { cwd: root, env: { ...process.env, PORT: String(port) }, detached: true, stdio: ["ignore", openSync(log, "w"), openSync(log, "a")] });
const stop = () => {
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
};
process.on("exit", stop);

try {
  await waitUntil(() => fetch(`${base}/healthz`).then((r) => r.ok, () => false), `npm start on ${base}`, 90_000, 500);
  openapi = await (await fetch(`${base}/openapi.json`)).json();
  let client;
  for (const { line, comments } of commands()) {
    if (/^[A-Z]+='.*'$/.test(line)) {
      shellVars.push(substitute(line));
      continue;
    }
    if (!line.startsWith("curl ")) continue;
    const { status, pattern } = expectation(comments);
    const got = await curl(line);
    const problems = [];
    if (status === undefined ? got.status < 200 || got.status > 299 : got.status !== status) problems.push(`status ${got.status}, documented ${status ?? "2xx"}: ${got.body.slice(0, 300)}`);
    if (pattern !== undefined) problems.push(...(got.json === undefined ? [`not JSON: ${got.body.slice(0, 200)}`] : mismatches(pattern, got.json, "$", seen)));
    if (got.json !== undefined) problems.push(...undeclared(line, got.status, got.json));
    report(`${line.slice(0, 110)} -> ${got.status}`, problems);
    if (line.includes("/sdk/credentials") && got.json?.access_token !== undefined && client === undefined) client = await rawClient(got.json.access_token);
    if (line.includes("/session/end") && client !== undefined) {
      // The README says what every client of the ended session gets.
      const ended = await waitUntil(() => client.frames.some((f) => f.type === "data_cleared"), "data_cleared on alice's socket", 10_000).then(() => [], (e) => [e.message]);
      report("alice's socket after the end: data_cleared", ended);
    }
  }
  client?.ws.close();
} catch (error) {
  report(`the check itself failed: ${error.message}`, [String(error.stack ?? error)]);
}
if (failed > 0) console.log(`\n${failed} README answer(s) differ; npm start's log:\n${readFileSync(log, "utf8").split("\n").slice(-40).join("\n")}`);
stop();
rmSync(state, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);
