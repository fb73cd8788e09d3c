/**
 * Shared by scripts/reliability/restart.mjs and soak.mjs: runs the local composition
 * (wrangler.local.toml) with scripts/lib/wrangler.mjs (a process group of its own, killed on
 * exit), talks to the admin API and the emulator, and drives sessions over real WebSockets.
 *
 * Invariant: traffic goes to 127.0.0.1 only. Every wait is bounded.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, freePorts, groupProcesses, rssKb, sleep, waitUntil } from "../lib/proc.mjs";
import { groupAlive, killGroup, ROOT, WranglerDev } from "../lib/wrangler.mjs";

export { freePort, freePorts, groupAlive, groupProcesses, ROOT, sleep, waitUntil };

if (typeof globalThis.WebSocket !== "function") {
  console.error("these scripts need Node 22 (global WebSocket): run them through npm (npm run test:reliability / npm run soak)");
  process.exit(2);
}

/**
 * A run's log (prefixed with its name and seconds since start) and its checks: each failed check is
 * logged at once and kept for the summary, so a run reports every failure, not just the first.
 */
export function runLog(name) {
  const t0 = Date.now();
  const log = (msg) => console.log(`[${name} ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
  const run = {
    t0,
    log,
    failures: [],
    checks: 0,
    check(ok, what, detail = "") {
      run.checks += 1;
      if (ok) return true;
      run.failures.push(`${what}${detail ? `: ${detail}` : ""}`);
      log(`FAIL ${what}${detail ? `: ${detail}` : ""}`);
      return false;
    },
    /**
     * Runs `main`, counts an exception as a failure, then closes the clients (`closeAll`), shows
     * the stack's log tail on failure, removes its storage (kept with `keep` on failure), prints
     * `summary()` with every failure and PASS or FAIL, and exits 0 or 1.
     */
    async conclude(main, { stack, keep, closeAll, summary }) {
      try {
        await main();
      } catch (err) {
        run.failures.push(`aborted: ${err instanceof Error ? err.message : String(err)}`);
        log(`ABORT ${err instanceof Error ? err.stack : String(err)}`);
      }
      closeAll();
      const failed = run.failures.length > 0;
      if (failed) console.log(`\n[${name}] wrangler log tail:\n${stack.logTail(30)}`);
      await stack.cleanup({ keep: keep && failed });
      console.log(`\n[${name}] summary: ${summary()}, ${run.checks} checks, ${run.failures.length} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const f of run.failures) console.log(`  - ${f}`);
      if (keep && failed) console.log(`  storage kept at ${stack.persistDir}`);
      console.log(failed ? `[${name}] FAIL` : `[${name}] PASS`);
      process.exit(failed ? 1 : 0);
    },
  };
  return run;
}

/** VmRSS of a process in bytes, or undefined when it is gone. */
export function rssBytes(pid) {
  const kb = rssKb(pid);
  return kb === undefined ? undefined : kb * 1024;
}

// ---------------------------------------------------------------------------------------------
// The local stack.

let projectDir;

/**
 * The directory the stacks run from: a copy of the repository taken once per process (its
 * node_modules linked), because `wrangler dev` watches its sources and restarts the runtime,
 * dropping every socket, whenever a file changes, which would look like a product bug while
 * someone edits the tree. RELIABILITY_NO_SNAPSHOT=1 runs from the repository itself.
 * Then, as `npm start` does, the package's "prestart" script runs there (bounded to 2 minutes).
 */
async function projectDirectory(say) {
  if (projectDir !== undefined) return projectDir;
  if (process.env.RELIABILITY_NO_SNAPSHOT === "1") {
    projectDir = ROOT;
  } else {
    const dir = mkdtempSync(join(tmpdir(), "kaleyra-edge-src-"));
    const skip = /^\/(node_modules|\.git|\.wrangler|test-artifacts)(\/|$)/;
    cpSync(ROOT, dir, { recursive: true, filter: (src) => !skip.test(src.slice(ROOT.length)) });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    projectDir = dir;
    say?.(`running from a snapshot of the repository in ${dir}`);
  }
  const pkg = JSON.parse(readFileSync(join(projectDir, "package.json"), "utf8"));
  if (!pkg.scripts?.prestart) return projectDir;
  say?.(`running the prestart script (${pkg.scripts.prestart})`);
  await new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "prestart"], { cwd: projectDir, stdio: ["ignore", "ignore", "inherit"], detached: true });
    const timer = setTimeout(() => killGroup(child.pid), 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      code === 0 ? resolve() : reject(new Error(`prestart exited with ${code}`));
    });
  });
  return projectDir;
}

export class Stack extends WranglerDev {
  /**
   * @param {{ persistDir?: string, adminToken: string, log: (line: string) => void, name?: string }} options
   * Without persistDir a temporary one is used and removed by cleanup().
   */
  constructor(options) {
    const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "kaleyra-edge-rel-"));
    super({
      name: options.name ?? "stack",
      // The wrangler configuration (relative to the repository); a diagnostic run may point elsewhere.
      config: options.config ?? process.env.RELIABILITY_WRANGLER_CONFIG ?? "wrangler.local.toml",
      persistTo: persistDir,
      logPath: join(persistDir, "..", `${persistDir.split("/").pop()}.wrangler.log`),
      logLevel: process.env.RELIABILITY_LOG_LEVEL ?? "warn",
      vars: {
        ADMIN_TOKEN: options.adminToken,
        DEMO_APP_ID: "mAppId_demo",
        DEMO_KALEYRA_API_KEY: "ak_test_demo_key",
        // Every client here comes from 127.0.0.1: lift the per-IP attach limit (worker/socket.ts).
        ATTACH_LIMIT_PER_MINUTE: "1000000",
      },
    });
    this.adminToken = options.adminToken;
    this.say = options.log;
    this.ownDir = options.persistDir === undefined;
    this.persistDir = persistDir;
    this.starts = 0;
  }

  /** Starts wrangler dev on a free port with this stack's --persist-to and waits for /healthz. */
  async start(timeoutMs = 60_000) {
    this.cwd = await projectDirectory(this.say);
    this.starts += 1;
    const ms = await super.start(timeoutMs);
    this.workerdAtStart = this.runtimePid();
    return ms;
  }

  /**
   * The runtime workerd must stay the one that started: wrangler quietly starts a new one if it
   * dies (killed or crashed from outside this script), which drops every socket (1006).
   * Returns a description of the change, or undefined.
   */
  runtimeChanged() {
    if (this.pgid === undefined || this.workerdAtStart === undefined) return undefined; // stopped or starting
    const now = this.runtimePid();
    if (now === this.workerdAtStart) return undefined;
    const was = this.workerdAtStart;
    this.workerdAtStart = now;
    this.runtimeRestarts = (this.runtimeRestarts ?? 0) + 1;
    return `the runtime workerd changed underneath (pid ${was} -> ${now ?? "none"}): it was killed or crashed outside this script`;
  }

  /** RSS of every workerd of the stack, in bytes. */
  workerdRss() {
    return this.workerds().map((p) => ({ ...p, rss: rssBytes(p.pid) }));
  }

  async kill(signal = "SIGKILL") {
    this.workerdAtStart = undefined;
    await super.kill(signal);
  }

  /** Kills the group if running and removes the temporary directory and log. */
  async cleanup({ keep = false } = {}) {
    await this.kill().catch(() => undefined);
    if (keep) return;
    if (this.ownDir) rmSync(this.persistDir, { recursive: true, force: true });
    rmSync(this.logPath, { force: true });
  }

  // -- HTTP helpers -------------------------------------------------------------------------

  async http(method, path, { body, headers = {}, timeoutMs = 10_000 } = {}) {
    const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers["content-type"] = "application/json";
    }
    const res = await fetch(`${this.base}${path}`, init);
    const text = await res.text();
    let json;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  async expect(status, method, path, options) {
    const res = await this.http(method, path, options);
    if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
    return res.json;
  }

  /** Creates an app in the emulator and registers it in the orchestrator with this retry policy. */
  /**
   * Creates an app in the emulator and registers it in the orchestrator with this retry policy.
   * Sockets of token sessions prove their user with a tenant-signed attach ticket (or a resume
   * credential the session issued), so a client can attach during a Kaleyra outage too.
   */
  async createApp(appId, retryPolicy, extra = {}) {
    const emu = await this.expect(201, "POST", "/emulator/control/apps", { body: { appId } });
    const ticketSecret = `ticket-${createHmac("sha256", "x").update(appId).digest("hex")}`;
    const base = { environment: "sandbox", region: "eu", retryPolicy, ...extra };
    const res = await this.http("PUT", `/v1/apps/${appId}`, {
      headers: { Authorization: `Bearer ${this.adminToken}` },
      body: { ...base, attachModes: ["token", "resume", "ticket"], attachTicketSecret: ticketSecret },
    });
    if (res.status === 201) return { ...emu, ticketSecret };
    // An orchestrator without attach proofs: register without them.
    if (res.status === 400 && /^attach/.test(res.json?.error?.field ?? "")) {
      await this.expect(201, "PUT", `/v1/apps/${appId}`, { headers: { Authorization: `Bearer ${this.adminToken}` }, body: base });
      return { ...emu, ticketSecret: undefined };
    }
    throw new Error(`PUT /v1/apps/${appId}: ${res.status} ${res.text.slice(0, 300)}`);
  }

  async createUser(app, userId) {
    await this.expect(201, "POST", "/emulator/v2/users", { headers: { apikey: app.apiKey }, body: { user_id: userId, role: "plus" } });
  }

  /** A token from the emulator, or undefined when it refuses (an outage). */
  async mint(app, userId, expiresIn = 3_600) {
    try {
      const res = await this.http("POST", "/emulator/v2/sdk/credentials", {
        headers: { apikey: app.apiKey },
        body: { user_id: userId, expires_in: expiresIn },
        timeoutMs: 5_000,
      });
      return res.status === 200 ? res.json.access_token : undefined;
    } catch {
      return undefined;
    }
  }

  async setFaults(faults) {
    return this.expect(200, "PUT", "/emulator/control/faults", { body: faults });
  }

  async faults() {
    return this.expect(200, "GET", "/emulator/control/faults");
  }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics: the alarms as workerd persisted them (read-only, from the --persist-to directory).

/**
 * For each UserSession object on disk: its name, the alarm in its own SQLite storage
 * (`_cf_METADATA` key 1, ns), and the alarm the namespace's scheduler (`metadata.sqlite`,
 * `_cf_ALARM`) will fire. Both in ms since the epoch, undefined when absent. Read-only; returns
 * undefined when node:sqlite is not available.
 */
export async function persistedAlarms(persistDir, className = "UserSession") {
  let DatabaseSync;
  try {
    const original = process.emitWarning;
    process.emitWarning = () => {}; // node:sqlite prints an ExperimentalWarning on Node 22
    ({ DatabaseSync } = await import("node:sqlite"));
    process.emitWarning = original;
  } catch {
    return undefined;
  }
  const dir = join(persistDir, "v3", "do", `kaleyra-edge-local-${className}`);
  if (!existsSync(dir)) return [];
  const scheduled = new Map();
  if (existsSync(join(dir, "metadata.sqlite"))) {
    const db = new DatabaseSync(join(dir, "metadata.sqlite"), { readOnly: true });
    try {
      const st = db.prepare("SELECT actor_id, scheduled_time FROM _cf_ALARM");
      st.setReadBigInts(true);
      for (const r of st.all()) scheduled.set(r.actor_id, Number(r.scheduled_time / 1_000_000n));
    } catch {
      // No table yet.
    } finally {
      db.close();
    }
  }
  const out = [];
  for (const f of readdirSync(dir).filter((name) => /^[0-9a-f]{64}\.sqlite$/.test(name))) {
    const id = f.slice(0, 64);
    const row = { id, name: undefined, actorAlarm: undefined, schedulerAlarm: scheduled.get(id) };
    const db = new DatabaseSync(join(dir, f), { readOnly: true });
    try {
      row.name = db.prepare("SELECT name FROM __miniflare_do_name").get()?.name;
      const st = db.prepare("SELECT value FROM _cf_METADATA WHERE key = 1");
      st.setReadBigInts(true);
      const v = st.get()?.value;
      if (v !== undefined && v !== null) row.actorAlarm = Number(BigInt(v) / 1_000_000n);
    } catch {
      // A table may not exist yet.
    } finally {
      db.close();
    }
    out.push(row);
  }
  return out;
}
