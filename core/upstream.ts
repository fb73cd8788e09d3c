/**
 * An app's upstream policy (docs/architecture.md "Upstream policy"): what happens to a session's
 * Kaleyra connection while no client is attached, and which connector pool holds it.
 * - `keep: "always"` (default): the connection stays up for as long as the session runs, so a
 *   call still reaches a user whose app is closed (the session can wake it).
 * - `keep: "grace"`: `graceSeconds` after the last client left, the session closes its connection
 *   and waits (it keeps running: its user, its data and its slot stay, and the next client that
 *   attaches reconnects it at once). Nothing upstream costs while it waits, and nothing from
 *   Kaleyra reaches it either.
 * - `pool: "own"`: connectors of this app alone instead of the shared pool of its environment and
 *   region (isolation from other apps' load, at the price of its own always-awake connectors).
 */
import { kaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";

export interface UpstreamSettings {
  keep?: "always" | "grace";
  /** With keep "grace": how long after the last client left. Default DEFAULT_GRACE_SECONDS. */
  graceSeconds?: number;
  pool?: "shared" | "own";
}

export const DEFAULT_GRACE_SECONDS = 300;
export const GRACE_SECONDS_MIN = 10;
export const GRACE_SECONDS_MAX = 86_400;

/** The grace in ms a session applies, or undefined for "always". */
export function graceMsOf(upstream: UpstreamSettings | undefined): number | undefined {
  if (upstream?.keep !== "grace") return undefined;
  return (upstream.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1_000;
}

export function parseUpstream(input: unknown): Result<UpstreamSettings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail(kaleyraError("bad_request", "upstream"));
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !["keep", "graceSeconds", "pool"].includes(k));
  if (extra !== undefined) return fail(kaleyraError("bad_request", `upstream.${extra}`));
  const settings: UpstreamSettings = {};
  if (o.keep !== undefined) {
    if (o.keep !== "always" && o.keep !== "grace") return fail(kaleyraError("bad_request", "upstream.keep"));
    settings.keep = o.keep;
  }
  if (o.graceSeconds !== undefined) {
    const g = o.graceSeconds;
    const valid = typeof g === "number" && Number.isInteger(g) && g >= GRACE_SECONDS_MIN && g <= GRACE_SECONDS_MAX && settings.keep === "grace";
    if (!valid) return fail(kaleyraError("bad_request", "upstream.graceSeconds"));
    settings.graceSeconds = g;
  }
  if (o.pool !== undefined) {
    if (o.pool !== "shared" && o.pool !== "own") return fail(kaleyraError("bad_request", "upstream.pool"));
    settings.pool = o.pool;
  }
  return ok(settings);
}
