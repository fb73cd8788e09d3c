/**
 * Processes for the benchmarks: wrangler dev stacks (scripts/lib/wrangler.mjs: process groups of
 * their own, always killed on exit), and /proc readings (RSS, open files, CPU time).
 * Invariants: every wait is bounded; traffic goes to 127.0.0.1 only.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort, groupProcesses, procStat, rssKb, sleep, waitUntil } from "../../scripts/lib/proc.mjs";
import { ROOT, WranglerDev } from "../../scripts/lib/wrangler.mjs";

export { freePort, groupProcesses, ROOT, rssKb, sleep, waitUntil };

const tempDirs = new Set();
/** Every stack made here, for telling our workerd processes from others'. */
const stacks = new Set();

// After scripts/lib/wrangler.mjs's own exit handler has killed the groups: their directories go.
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
process.on("uncaughtException", (err) => {
  console.error(err);
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  console.error(err);
  process.exit(1);
});

let snapshotDir;
/**
 * Where the stacks run from: a copy of the repository (node_modules linked), taken once per run.
 * `wrangler dev` restarts its runtime whenever a file it watches changes (sources, and the
 * package.json files its bundler read), which drops every socket mid-stage while someone edits the
 * tree. BENCH_NO_SNAPSHOT=1 runs from the repository itself.
 */
export function benchDirectory() {
  if (process.env.BENCH_NO_SNAPSHOT === "1") return ROOT;
  if (snapshotDir !== undefined) return snapshotDir;
  const dir = mkdtempSync(join(tmpdir(), "kaleyra-bench-src-"));
  const skip = /^\/(node_modules|\.git|\.wrangler|test-artifacts|bench\/\.cache)(\/|$)/;
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !skip.test(src.slice(ROOT.length)) });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  tempDirs.add(dir);
  snapshotDir = dir;
  return dir;
}

/** Wall-clock milliseconds with sub-millisecond resolution, on the same clock as Date.now(). */
let clockOffset = Date.now() - (performance.timeOrigin + performance.now());
export function recalibrateClock() {
  // Take the smallest of a few readings' differences: Date.now() has 1 ms steps.
  let best = -Infinity;
  for (let i = 0; i < 50; i++) best = Math.max(best, Date.now() - (performance.timeOrigin + performance.now()));
  clockOffset = best;
}
export const nowMs = () => performance.timeOrigin + performance.now() + clockOffset;


export function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

export function openFilesLimit(pid = "self") {
  try {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m ? { soft: m[1], hard: m[2] } : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user+system) of a process in ms. */
export function cpuMs(pid) {
  try {
    const rest = procStat(pid);
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // clock ticks are 100 Hz on Linux
  } catch {
    return undefined;
  }
}

/** Other wrangler/workerd processes on the machine (not ours): a source of measurement noise. */
export function foreignWorkerdCount() {
  const ours = new Set();
  for (const stack of stacks) if (stack.pgid !== undefined) for (const p of groupProcesses(stack.pgid)) ours.add(p.pid);
  let n = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || ours.has(Number(entry))) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes("workerd") && cmd.includes("serve")) n += 1;
    } catch {
      // Gone.
    }
  }
  return n;
}

/**
 * Runs `fn(stack)` on a fresh orchestrator stack of its own (the same composition and vars as the
 * shared one), stopped afterwards. For the stages that count live objects: in the shared stack the
 * earlier stages' session objects keep waking (a used attach ticket's expiry alarm, five minutes
 * after each attach), and each would count as an object in memory.
 */
export async function onOwnStack(ctx, name, fn) {
  const stack = new Stack({ name: `kaleyra-edge-${name}`, config: "wrangler.local.toml", vars: { ADMIN_TOKEN: ctx.adminToken, ATTACH_LIMIT_PER_MINUTE: "1000000000" }, log: ctx.say });
  const ms = await stack.start();
  ctx.say(`${name}: on a stack of its own (${stack.base}, ${ms} ms)`);
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}

/**
 * One `wrangler dev --local` (scripts/lib/wrangler.mjs) with its own --persist-to directory (so a
 * run never sees another run's data, nor the reliability scripts'), and the readings the
 * benchmarks take of its processes.
 */
export class Stack extends WranglerDev {
  constructor({ name, config, vars = {}, log }) {
    const dir = mkdtempSync(join(tmpdir(), `kaleyra-bench-${name}-`));
    tempDirs.add(dir);
    // From the run's copy of the tree (benchDirectory): an edit elsewhere does not restart its runtime.
    super({ name, config, vars, persistTo: join(dir, "state"), logPath: join(dir, "wrangler.log"), cwd: benchDirectory() });
    this.say = log;
    this.dir = dir;
    stacks.add(this);
  }

  async start(timeoutMs = 90_000) {
    const t0 = Date.now();
    await super.start(timeoutMs);
    // wrangler reloads once right after the first "ready"; let it settle, then check again.
    await sleep(1_500);
    await waitUntil(() => this.healthy(), `${this.name}: /healthz after settling`, 30_000, 100);
    return Date.now() - t0;
  }

  /**
   * The runtime workerd's own entry socket (wrangler's proxy forwards to it): the listening TCP
   * port of the runtime process that answers /healthz. Lets a benchmark hold sockets in the
   * runtime alone, without the proxy in between.
   */
  async runtimeEntry() {
    const pid = this.runtimePid();
    const inodes = new Set();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith("socket:[")) inodes.add(link.slice(8, -1));
      } catch {
        // Closed meanwhile.
      }
    }
    const ports = [];
    for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === "0A" && inodes.has(f[9])) ports.push(parseInt(f[1].split(":")[1], 16));
    }
    for (const port of ports) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) return { port, base: `http://127.0.0.1:${port}`, wsBase: `ws://127.0.0.1:${port}` };
      } catch {
        // Not the entry.
      }
    }
    return undefined;
  }

  workerdVersion() {
    const pid = this.runtimePid();
    if (!pid) return undefined;
    try {
      const bin = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      const pkg = join(dirname(bin), "..", "package.json");
      return JSON.parse(readFileSync(pkg, "utf8")).version;
    } catch {
      return undefined;
    }
  }

  stop() {
    return this.kill().catch(() => {});
  }
}
