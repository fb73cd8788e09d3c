/**
 * The one wrangler launcher of the scripts that run local stacks (bench/, scripts/reliability/,
 * test/browser/): `wrangler dev --local` (or `npm start`, which builds the demo first) on free
 * loopback ports, in a process group of its own, its output in a log file, ready once /healthz
 * answers.
 * Invariants: every group started here is SIGKILLed when this Node process exits, whatever the
 * reason (normal end, exception, SIGINT/SIGTERM/SIGHUP); every wait is bounded; only 127.0.0.1 is
 * used; wrangler runs offline (no metrics, no Request.cf download).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts, groupProcesses, waitUntil } from "./proc.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const liveGroups = new Set();

export function killGroup(pgid, signal = "SIGKILL") {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** True while any (not zombie) process of the group exists. */
export function groupAlive(pgid) {
  return groupProcesses(pgid).length > 0;
}

process.on("exit", () => {
  for (const pgid of liveGroups) killGroup(pgid);
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping (killing the wrangler process groups)`);
    process.exit(130);
  });
}

/**
 * Runs a command in a process group of its own, its output appended to `logPath`; the group is
 * killed when this process exits unless `forget` was called for it first.
 */
export function spawnGroup(command, args, { cwd = ROOT, env = {}, logPath }) {
  const fd = openSync(logPath, "a");
  const child = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1", NO_COLOR: "1", ...env },
  });
  closeSync(fd);
  child.unref();
  liveGroups.add(child.pid);
  return child.pid;
}

export function forgetGroup(pgid) {
  liveGroups.delete(pgid);
}

/** The Node that runs the tools: the project's own (the `node` dev dependency), else this one. */
const NODE = existsSync(join(ROOT, "node_modules/node/bin/node")) ? join(ROOT, "node_modules/node/bin/node") : process.execPath;

export class WranglerDev {
  /**
   * @param {{ name: string, logPath: string, config?: string, vars?: Record<string, string>,
   *   persistTo?: string, cwd?: string, logLevel?: string, npmStart?: boolean }} options
   * `npmStart`: run `npm start` (its prestart and its vars) instead of wrangler itself.
   */
  constructor({ name, logPath, config = "wrangler.local.toml", vars = {}, persistTo, cwd = ROOT, logLevel = "warn", npmStart = false }) {
    Object.assign(this, { name, logPath, config, vars, persistTo, cwd, logLevel, npmStart });
    this.pgid = undefined;
    this.port = undefined;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsBase() {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Starts it on free ports and waits until /healthz answers; returns how long that took (ms). */
  async start(timeoutMs = 60_000) {
    if (this.pgid !== undefined) throw new Error(`${this.name}: already running`);
    const [port, inspector] = await freePorts(2);
    this.port = port;
    this.inspectorPort = inspector;
    const options = ["--inspector-port", String(inspector), ...(this.persistTo === undefined ? [] : ["--persist-to", this.persistTo])];
    const vars = Object.entries(this.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    this.pgid = this.npmStart
      ? spawnGroup("npm", ["start", "--", ...options, ...vars], { cwd: this.cwd, env: { PORT: String(port), BROWSER: "none" }, logPath: this.logPath })
      : spawnGroup(
          NODE,
          [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "-c", this.config, "--local", "--ip", "127.0.0.1", "--port", String(port), ...options, "--show-interactive-dev-session=false", "--log-level", this.logLevel, ...vars],
          { cwd: this.cwd, logPath: this.logPath },
        );
    const t0 = Date.now();
    await waitUntil(async () => {
      if (!groupAlive(this.pgid)) throw new Error(`${this.name}: wrangler exited during start; log tail:\n${this.logTail()}`);
      return this.healthy();
    }, `${this.name}: wrangler dev on port ${port} (/healthz)`, timeoutMs, 100);
    return Date.now() - t0;
  }

  async healthy() {
    try {
      return (await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  }

  /** The group's workerd processes: the runtime (Worker and Durable Objects, the one with an inspector) and wrangler's proxy. */
  workerds() {
    if (this.pgid === undefined) return [];
    return groupProcesses(this.pgid)
      .filter((p) => p.cmdline[0]?.endsWith("/workerd"))
      .map((p) => ({ pid: p.pid, runtime: p.cmdline.some((a) => a.startsWith("--inspector-addr")) }));
  }

  runtimePid() {
    const all = this.workerds();
    return (all.find((p) => p.runtime) ?? all[all.length - 1])?.pid;
  }

  proxyPid() {
    return this.workerds().find((p) => !p.runtime)?.pid;
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Kills the whole process group (wrangler, its node child, workerd, esbuild) and waits until it is gone. */
  async kill(signal = "SIGKILL") {
    if (this.pgid === undefined) return;
    const pgid = this.pgid;
    killGroup(pgid, signal);
    await waitUntil(() => !groupAlive(pgid), `${this.name}: process group ${pgid} to end`, 10_000, 20);
    forgetGroup(pgid);
    this.pgid = undefined;
  }
}
