/**
 * The seed's retry schedules, as data plus two pure delay functions.
 * Invariants: the first attempt of each table has no wait and no jitter; every later wait adds a
 * fresh jitter drawn uniformly from [0, jitterMaxMs]; the reconnect table repeats its steady delay
 * for ever.
 */
import { kaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";

export interface RetryPolicy {
  /** Wait before token attempt i of a cycle; entry 0 is the first attempt and must be 0. */
  tokenAttemptDelaysMs: readonly number[];
  /** An attempt with no success within this time has failed. */
  tokenAttemptTimeoutMs: number;
  /** Wait before reconnect attempt i; entry 0 must be 0. */
  reconnectDelaysMs: readonly number[];
  /** Wait before every reconnect attempt after the table runs out. */
  reconnectSteadyDelayMs: number;
  jitterMaxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = /* @__PURE__ */ Object.freeze({
  tokenAttemptDelaysMs: /* @__PURE__ */ Object.freeze([0, 1_000, 4_000]),
  tokenAttemptTimeoutMs: 15_000,
  reconnectDelaysMs: /* @__PURE__ */ Object.freeze([0, 3_000, 9_000, 27_000, 60_000, 120_000]),
  reconnectSteadyDelayMs: 60_000,
  jitterMaxMs: 2_000,
});

/** A source of uniform numbers in [0, 1), injected so schedules are tested exactly. */
export type Random = () => number;

/** Jitter is a whole number of milliseconds, uniform over [0, jitterMaxMs] (alarms have ms resolution). */
function withJitter(delayMs: number, policy: RetryPolicy, random: Random): number {
  return delayMs + Math.floor(random() * (policy.jitterMaxMs + 1));
}

/** Wait before token attempt `index` (0-based) of a cycle, or undefined when the cycle is spent. */
export function tokenAttemptDelay(policy: RetryPolicy, index: number, random: Random): number | undefined {
  const base = policy.tokenAttemptDelaysMs[index];
  if (base === undefined) return undefined;
  return index === 0 ? 0 : withJitter(base, policy, random);
}

/** Wait before reconnect attempt `index` (0-based); defined for every index. */
export function reconnectDelay(policy: RetryPolicy, index: number, random: Random): number {
  if (index === 0) return 0;
  const base = policy.reconnectDelaysMs[index] ?? policy.reconnectSteadyDelayMs;
  return withJitter(base, policy, random);
}

/** What a tenant's override may hold (parseRetryPolicy; the HTTP schema is built from it too). */
export const RETRY_POLICY_LIMITS = {
  /** Entries in a delay table. */
  maxTableLength: 16,
  /** Any delay or timeout, at most a day. */
  maxMs: 86_400_000,
  /** The least of each scalar: a zero timeout or steady delay would make an unbounded loop of instant attempts. */
  min: { tokenAttemptTimeoutMs: 1, reconnectSteadyDelayMs: 1, jitterMaxMs: 0 },
} as const;

function delayTable(input: unknown, field: string): Result<number[]> {
  if (!Array.isArray(input) || input.length < 1 || input.length > RETRY_POLICY_LIMITS.maxTableLength) {
    return fail(kaleyraError("bad_request", field));
  }
  if (input[0] !== 0) return fail(kaleyraError("bad_request", `${field}[0]`));
  for (const [i, v] of input.entries()) {
    if (!isDuration(v, 0, RETRY_POLICY_LIMITS.maxMs)) return fail(kaleyraError("bad_request", `${field}[${i}]`));
  }
  return ok(input as number[]);
}

function isDuration(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * A tenant's override, merged over the defaults. Unknown keys are refused so a typo does not
 * silently fall back to a default.
 */
export function parseRetryPolicy(input: unknown): Result<RetryPolicy> {
  if (input === undefined) return ok(DEFAULT_RETRY_POLICY);
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(kaleyraError("bad_request", "retryPolicy"));
  }
  const known = new Set(Object.keys(DEFAULT_RETRY_POLICY));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) return fail(kaleyraError("bad_request", `retryPolicy.${key}`));
  }
  const o = input as Record<string, unknown>;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const field of ["tokenAttemptDelaysMs", "reconnectDelaysMs"] as const) {
    if (o[field] === undefined) continue;
    const table = delayTable(o[field], `retryPolicy.${field}`);
    if (!table.ok) return table;
    policy[field] = table.value;
  }
  for (const [field, min] of Object.entries(RETRY_POLICY_LIMITS.min) as [keyof typeof RETRY_POLICY_LIMITS.min, number][]) {
    if (o[field] === undefined) continue;
    if (!isDuration(o[field], min, RETRY_POLICY_LIMITS.maxMs)) return fail(kaleyraError("bad_request", `retryPolicy.${field}`));
    policy[field] = o[field];
  }
  return ok(policy);
}
