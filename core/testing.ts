/**
 * Test helpers for the pure core: a scripted random source and a driver that threads the state
 * through transition() with an injected clock. Used only by core/*.test.ts.
 */
import { DEFAULT_RETRY_POLICY, type Random } from "./policy";
import { initialState, nextDue, type Effect, type SessionEvent, type SessionState } from "./session";
import { transition } from "./transition";

/** The draw connect makes for the session nonce (it is not a jitter). */
export const NONCE = 0.5;

export type Script = Random & { readonly left: number };

/** A random source that returns exactly these values, in order, and throws when asked for more. */
export function seq(...values: number[]): Script {
  for (const v of values) if (!(v >= 0 && v < 1)) throw new Error(`seq: ${v} is not in [0, 1)`);
  const queue = [...values];
  const next = () => {
    const v = queue.shift();
    if (v === undefined) throw new Error("seq: random() called more often than scripted");
    return v;
  };
  return Object.defineProperty(next, "left", { get: () => queue.length }) as Script;
}

export function deepFreeze<T>(o: T): T {
  if (typeof o === "object" && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export const connectToken = (userId = "alice", clientId?: string): SessionEvent =>
  clientId === undefined
    ? { type: "connect_token", userId, policy: DEFAULT_RETRY_POLICY }
    : { type: "connect_token", clientId, userId, policy: DEFAULT_RETRY_POLICY };

export const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/ABC123";
export const connectLink = (accessLink = LINK, clientId?: string): SessionEvent =>
  clientId === undefined
    ? { type: "connect_link", accessLink, policy: DEFAULT_RETRY_POLICY }
    : { type: "connect_link", clientId, accessLink, policy: DEFAULT_RETRY_POLICY };

/**
 * Drives one session: every step deep-freezes the input state (so a mutation throws) and keeps the
 * last effects. `clients` is the ctx.clients list passed to every step; tests may reassign it.
 */
export class Driver {
  state: SessionState = initialState();
  effects: Effect[] = [];
  clients: string[];

  constructor(readonly random: Random, clients: string[] = []) {
    this.clients = clients;
  }

  send(now: number, event: SessionEvent): Effect[] {
    const r = transition(deepFreeze(this.state), event, { now, random: this.random, clients: [...this.clients] });
    this.state = r.state;
    this.effects = r.effects;
    return r.effects;
  }

  alarm(now: number): Effect[] {
    return this.send(now, { type: "alarm" });
  }

  /** Fires the alarm on time at every due time up to and including `until`; returns all effects. */
  alarmsUntil(until: number): Effect[] {
    const all: Effect[] = [];
    for (let due = nextDue(this.state); due !== undefined && due <= until; due = nextDue(this.state)) {
      all.push(...this.alarm(due));
    }
    return all;
  }

  /** The id of the pending token request; throws when none is pending. */
  get requestId(): string {
    const id = this.state.pendingToken?.requestId ?? this.state.pendingRemote?.requestId;
    if (id === undefined) throw new Error("no pending request");
    return id;
  }
}

export function ofType<T extends Effect["type"]>(effects: readonly Effect[], type: T): Extract<Effect, { type: T }>[] {
  return effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
}

/** The one effect of this type; throws when there are none or several. */
export function one<T extends Effect["type"]>(effects: readonly Effect[], type: T): Extract<Effect, { type: T }> {
  const found = ofType(effects, type);
  if (found.length !== 1) throw new Error(`expected one ${type} effect, got ${found.length}: ${JSON.stringify(effects)}`);
  return found[0]!;
}
