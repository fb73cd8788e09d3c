/**
 * Injected faults for the emulated Kaleyra API (/v2, /rest and /sdk only; /control is never faulted).
 * Order per request: outage ("refuse" answers 503 at once, "hang" holds the request until the
 * faults change or HANG_CAP_MS passes), then latency, then the error rate.
 * Invariant: a held request is released by every change of the faults (and by a reset), and then
 * judged again under the new faults.
 */

const OUTAGES = ["none", "refuse", "hang"] as const;
type Outage = (typeof OUTAGES)[number];

export interface Faults {
  outage: Outage;
  /** Added before every answer. */
  latencyMs: number;
  /** Probability in [0, 1] of answering 503 instead of handling the request. */
  errorRate: number;
  /** When set, every minted token lives this long, whatever expires_in asked for. */
  tokenLifetimeSec: number | null;
}

export const DEFAULT_FAULTS: Faults = Object.freeze({ outage: "none", latencyMs: 0, errorRate: 0, tokenLifetimeSec: null });
const MAX_LATENCY_MS = 30_000;
export const HANG_CAP_MS = 60_000;
const MAX_TOKEN_LIFETIME_SEC = 86_400;

/** PUT replaces the faults: a field left out takes its default. */
export function parseFaults(input: unknown): { ok: true; faults: Faults } | { ok: false; field: string; message: string } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, field: "body", message: "the body must be a JSON object" };
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !["outage", "latencyMs", "errorRate", "tokenLifetimeSec"].includes(k));
  if (extra !== undefined) return { ok: false, field: extra, message: `unknown field '${extra}'` };
  const faults: Faults = { ...DEFAULT_FAULTS };
  if (o.outage !== undefined) {
    if (!(OUTAGES as readonly unknown[]).includes(o.outage)) return { ok: false, field: "outage", message: `outage must be one of ${OUTAGES.join(", ")}` };
    faults.outage = o.outage as Outage;
  }
  if (o.latencyMs !== undefined) {
    if (!Number.isInteger(o.latencyMs) || (o.latencyMs as number) < 0 || (o.latencyMs as number) > MAX_LATENCY_MS) {
      return { ok: false, field: "latencyMs", message: `latencyMs must be an integer in 0..${MAX_LATENCY_MS}` };
    }
    faults.latencyMs = o.latencyMs as number;
  }
  if (o.errorRate !== undefined) {
    if (typeof o.errorRate !== "number" || !(o.errorRate >= 0 && o.errorRate <= 1)) {
      return { ok: false, field: "errorRate", message: "errorRate must be a number in 0..1" };
    }
    faults.errorRate = o.errorRate;
  }
  if (o.tokenLifetimeSec !== undefined && o.tokenLifetimeSec !== null) {
    if (!Number.isInteger(o.tokenLifetimeSec) || (o.tokenLifetimeSec as number) < 1 || (o.tokenLifetimeSec as number) > MAX_TOKEN_LIFETIME_SEC) {
      return { ok: false, field: "tokenLifetimeSec", message: `tokenLifetimeSec must be null or an integer in 1..${MAX_TOKEN_LIFETIME_SEC}` };
    }
    faults.tokenLifetimeSec = o.tokenLifetimeSec as number;
  }
  return { ok: true, faults };
}

export type Admission = "pass" | "unavailable";

/** Holds and releases requests according to the current faults. */
export class FaultGate {
  private readonly held = new Set<() => void>();

  constructor(
    private readonly current: () => Faults,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many requests are being held by a "hang" outage right now. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Releases every held request, to be judged again: call after every change of the faults. */
  release(): void {
    const waiters = [...this.held];
    this.held.clear();
    for (const wake of waiters) wake();
  }

  async admit(): Promise<Admission> {
    const capAt = Date.now() + HANG_CAP_MS;
    for (;;) {
      const faults = this.current();
      if (faults.outage === "refuse") return "unavailable";
      if (faults.outage === "none") break;
      const left = capAt - Date.now();
      if (left <= 0 || !(await this.hold(left))) return "unavailable";
    }
    const { latencyMs, errorRate } = this.current();
    if (latencyMs > 0) await sleep(latencyMs);
    return errorRate > 0 && this.random() < errorRate ? "unavailable" : "pass";
  }

  /** True when released, false when the time ran out. */
  private hold(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.held.delete(wake);
        resolve(false);
      }, ms);
      this.held.add(wake);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Faults and settings of the Socket.IO endpoint (`/control/realtime`), kept apart from the HTTP
 * faults above. `connectRefusal`: answer every CONNECT with this CONNECT_ERROR name.
 * `connectHang`: never answer CONNECT. `stopPinging`: send no Engine.IO pings.
 * `tokenUpdateRefusal`: refuse every `switchboard:access_token:update` with this error.
 * `pingIntervalMs`/`pingTimeoutMs`: the heartbeat announced in the open packet of new connections.
 */
export interface RealtimeFaults {
  connectRefusal: string | null;
  connectHang: boolean;
  stopPinging: boolean;
  tokenUpdateRefusal: string | null;
  pingIntervalMs: number;
  pingTimeoutMs: number;
}

/** Socket.IO's server defaults. */
export const DEFAULT_REALTIME_FAULTS: RealtimeFaults = Object.freeze({
  connectRefusal: null,
  connectHang: false,
  stopPinging: false,
  tokenUpdateRefusal: null,
  pingIntervalMs: 25_000,
  pingTimeoutMs: 20_000,
});
const MIN_HEARTBEAT_MS = 50;
const MAX_HEARTBEAT_MS = 300_000;
const ERROR_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** PUT replaces: a field left out takes its default. */
export function parseRealtimeFaults(input: unknown): { ok: true; faults: RealtimeFaults } | { ok: false; field: string; message: string } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, field: "body", message: "the body must be a JSON object" };
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !(k in DEFAULT_REALTIME_FAULTS));
  if (extra !== undefined) return { ok: false, field: extra, message: `unknown field '${extra}'` };
  const faults: RealtimeFaults = { ...DEFAULT_REALTIME_FAULTS };
  for (const field of ["connectRefusal", "tokenUpdateRefusal"] as const) {
    const v = o[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || !ERROR_NAME.test(v)) return { ok: false, field, message: `${field} must be null or an error name (snake_case, 1..64 characters)` };
    faults[field] = v;
  }
  for (const field of ["connectHang", "stopPinging"] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (typeof v !== "boolean") return { ok: false, field, message: `${field} must be a boolean` };
    faults[field] = v;
  }
  for (const field of ["pingIntervalMs", "pingTimeoutMs"] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || (v as number) < MIN_HEARTBEAT_MS || (v as number) > MAX_HEARTBEAT_MS) {
      return { ok: false, field, message: `${field} must be an integer in ${MIN_HEARTBEAT_MS}..${MAX_HEARTBEAT_MS}` };
    }
    faults[field] = v as number;
  }
  return { ok: true, faults };
}
