/**
 * Process and port helpers shared by the scripts that run local stacks (scripts/reliability,
 * bench): free loopback ports, bounded polling, and /proc readings of process groups.
 * Invariant: every wait is bounded; only 127.0.0.1 is used.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitUntil(check, what, timeoutMs, everyMs = 20) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `count` distinct free ports on 127.0.0.1 (held together while chosen, so they differ). */
export async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(
        await new Promise((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.on("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
      );
    }
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  }
}

export async function freePort() {
  return (await freePorts(1))[0];
}

/** The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...). */
export function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Live (not zombie) processes of a group, with their command lines. */
export function groupProcesses(pgid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const rest = procStat(entry);
      if (Number(rest[2]) !== pgid || rest[0] === "Z") continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      out.push({ pid: Number(entry), cmdline });
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/** VmRSS in kB, or undefined when the process is gone. */
export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
