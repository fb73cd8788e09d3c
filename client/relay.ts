/**
 * The relay (issue 14; docs/client.md "Relay"): the Kaleyra events the user's session relays to this
 * client (`remote_event`), and emits up to Kaleyra answered by acks (`remote_emit` / `remote_ack`),
 * as /work/helpers/RELAY.md's wire contract has them. A separate entry (kaleyra-edge/client/relay):
 * the core client carries only its hook (KaleyraVideo.frames, relay.since and send()).
 * Invariants:
 * - Handlers hear events in the order the server sent them; a handler that throws is reported and
 *   does not stop the others.
 * - `seq` is the last event's seq; it goes with a resume proof (`since`) and is saved with the
 *   session record, so a reloaded page is sent what it missed while the session still holds it.
 *   A smaller seq than the last is a new stream (the session object restarted): it replaces it.
 * - Every emit settles exactly once: with its ack; at once with not_connected while the session is
 *   not connected; emit_unconfirmed when its socket goes away first (the ack would come on that
 *   socket only); remote_timeout after EMIT_WAIT_MS.
 * - At most EMITS_PER_SECOND emits go up per second: the server closes a socket that sends over 20
 *   frames a second (4429, which stops the client), so a burst is refused here (rate_limited).
 */
import { KaleyraError, type KaleyraErrorCode } from "./errors";
import type { ClientState, KaleyraVideo } from "./kaleyra-video";
import { hostStorage, hostTimers, type StorageLike, type Timers } from "./platform";
import { readSaved, SESSION_KEY, writeSaved, type SavedSession } from "./saved-data";

/** One event Kaleyra sent on the user's connection, as the session relayed it. */
export interface RelayedEvent {
  name: string;
  /** 1, 2, 3... within one session object's life. */
  seq: number;
  /** The Socket.IO event's first argument; null when it had none. */
  data: unknown;
}

/** Hears an event's data; `event` carries its name and seq (useful to an ANY handler). */
export type RelayHandler = (data: unknown, event: RelayedEvent) => void;

export interface RelayOptions {
  /** The storage KaleyraVideo was given, when it was not the default (localStorage). null: nowhere. */
  storage?: StorageLike | null;
  timers?: Timers;
  now?: () => number;
  /** The session could not send every event after `after`: this client may have missed some. */
  onGap?: (after: number) => void;
}

/** The server's frames the relay reads (RELAY.md; core/protocol.ts holds the server's definition). */
type RelayFrame =
  | { type: "remote_event"; seq: number; name: string; data?: unknown }
  | { type: "remote_ack"; id: string; data?: unknown; error?: { code: string; message: string } }
  | { type: "remote_gap"; after: number };

/** on(ANY, handler) hears every event. */
export const ANY = "*";
/** The server answers within 10 s (remote_timeout); a little more covers the way back. */
export const EMIT_WAIT_MS = 15_000;
/** Half the server's 20 frames per socket per second: the rest is left to the client's own frames. */
export const EMITS_PER_SECOND = 10;
/** RELAY.md's limits: frames up to 16,384 bytes, names of 1..128 characters. */
const MAX_FRAME_BYTES = 16_384;
const MAX_NAME = 128;

interface Pending {
  resolve(data: unknown): void;
  reject(error: KaleyraError): void;
  timer: unknown;
}

const refuse = (code: KaleyraErrorCode, message: string, field?: string) => Promise.reject(new KaleyraError(code, message, field));

export class KaleyraRelay {
  readonly #kaleyra: KaleyraVideo;
  readonly #storage: StorageLike | undefined;
  readonly #timers: Timers;
  readonly #now: () => number;
  /** When the emits of the last second went up, oldest first. */
  readonly #sentAt: number[] = [];
  readonly #handlers = new Map<string, Set<RelayHandler>>();
  readonly #pending = new Map<string, Pending>();
  readonly #unsubscribe: () => void;
  readonly #hook: NonNullable<KaleyraVideo["relay"]>;
  readonly #listener = (data: unknown) => this.#onFrame(data);
  #nextId = 0;
  #seq?: number;
  #transport?: ClientState["transport"];
  onGap?: (after: number) => void;

  constructor(kaleyra: KaleyraVideo, options: RelayOptions = {}) {
    if (kaleyra.relay) throw new TypeError("A relay is already attached to this client; use that one.");
    this.#kaleyra = kaleyra;
    this.#storage = options.storage === undefined ? hostStorage() : options.storage ?? undefined;
    this.#timers = options.timers ?? hostTimers;
    this.#now = options.now ?? Date.now;
    this.onGap = options.onGap;
    const seq = this.#saved()?.seq;
    if (Number.isInteger(seq) && (seq as number) >= 0) this.#seq = seq;
    const relay = this;
    kaleyra.relay = this.#hook = {
      get since() {
        return relay.#seq;
      },
    };
    kaleyra.frames.add(this.#listener);
    this.#unsubscribe = kaleyra.state.subscribe((s) => this.#onState(s));
  }

  /** The last event's seq seen (or saved by the page before a reload); undefined before any. */
  get seq(): number | undefined {
    return this.#seq;
  }

  /** Calls `handler` for every event named `name` (ANY: every event), in order. */
  on(name: string, handler: RelayHandler): this {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler);
    return this;
  }

  off(name: string, handler: RelayHandler): this {
    this.#handlers.get(name)?.delete(handler);
    return this;
  }

  /**
   * Emits `name` with `data` on the user's Kaleyra connection. Resolves with Kaleyra's ack data;
   * rejects with a KaleyraError carrying the ack's error code (or emit_unconfirmed, remote_timeout).
   */
  emit(name: string, data?: unknown): Promise<unknown> {
    if (typeof name !== "string" || name.length < 1 || name.length > MAX_NAME) return refuse("invalid_frame", `The event name must be 1..${MAX_NAME} characters.`, "name");
    const { status, transport } = this.#kaleyra.state.value;
    if (status !== "connected" || transport !== "open") return refuse("not_connected", "The session is not connected; emit again once it is.");
    const id = String(++this.#nextId);
    const frame = { type: "remote_emit", id, name, data };
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch {
      return refuse("invalid_frame", "The data is not JSON.", "data");
    }
    if (new TextEncoder().encode(text).length > MAX_FRAME_BYTES) return refuse("invalid_frame", `The emit is over ${MAX_FRAME_BYTES} bytes as a frame.`, "data");
    const now = this.#now();
    while (this.#sentAt.length && (this.#sentAt[0] as number) <= now - 1_000) this.#sentAt.shift();
    if (this.#sentAt.length >= EMITS_PER_SECOND) return refuse("rate_limited", `At most ${EMITS_PER_SECOND} emits a second; emit again shortly.`);
    this.#sentAt.push(now);
    return new Promise((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => this.#settle(id)?.reject(new KaleyraError("remote_timeout", "No answer to the emit in time.")), EMIT_WAIT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.#kaleyra.send(frame);
    });
  }

  /** Removes the hook from the client, forgets the handlers, fails every waiting emit. */
  detach(): void {
    if (this.#kaleyra.relay === this.#hook) this.#kaleyra.relay = undefined;
    this.#kaleyra.frames.delete(this.#listener);
    this.#unsubscribe();
    this.#handlers.clear();
    this.#failPending("The relay was detached.");
  }

  #onFrame(data: unknown): void {
    let f: RelayFrame | null;
    try {
      f = JSON.parse(data as string) as RelayFrame | null;
    } catch {
      return;
    }
    switch (f?.type) {
      case "remote_event":
        if (typeof f.name !== "string" || !Number.isInteger(f.seq) || f.seq < 1) return;
        this.#seq = f.seq;
        this.#deliver({ name: f.name, seq: f.seq, data: f.data ?? null });
        break;
      case "remote_ack": {
        const p = typeof f.id === "string" ? this.#settle(f.id) : undefined;
        if (!p) return;
        const e = f.error;
        if (e) p.reject(new KaleyraError((typeof e.code === "string" ? e.code : "remote_refused") as KaleyraErrorCode, typeof e.message === "string" ? e.message : undefined));
        else p.resolve(f.data ?? null);
        return;
      }
      case "remote_gap":
        if (Number.isInteger(f.after)) tell(() => this.onGap?.(f.after));
        return;
    }
    // After every frame: the client may have rewritten the session record without the seq.
    this.#persist();
  }

  #deliver(event: RelayedEvent): void {
    for (const name of [event.name, ANY]) {
      for (const handler of [...(this.#handlers.get(name) ?? [])]) tell(() => handler(event.data, event));
    }
  }

  #onState({ transport }: ClientState): void {
    const was = this.#transport;
    this.#transport = transport;
    if (was === undefined || was === transport) return;
    // An ack comes only on the socket its emit went up on.
    if (was === "open") this.#failPending("The connection closed before the emit's answer: it may or may not have reached Kaleyra.");
    // The session is over for this client: a later one is a new stream.
    if (transport === "idle") this.#seq = undefined;
  }

  #saved(): Partial<SavedSession> | undefined {
    const s = readSaved(this.#storage, SESSION_KEY);
    return s && typeof s === "object" ? (s as Partial<SavedSession>) : undefined;
  }

  /** Writes the seq into the session record the client keeps, when there is one (never creates it). */
  #persist(): void {
    const s = this.#saved();
    if (s?.userId !== undefined && this.#seq !== undefined && s.seq !== this.#seq) writeSaved(this.#storage, SESSION_KEY, { ...s, seq: this.#seq });
  }

  #settle(id: string): Pending | undefined {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    if (p) this.#timers.clearTimeout(p.timer);
    return p;
  }

  #failPending(message: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new KaleyraError("emit_unconfirmed", message));
  }
}

/** Attaches a relay to the client: `const remote = relay(kaleyra)`. One per client. */
export function relay(kaleyra: KaleyraVideo, options?: RelayOptions): KaleyraRelay {
  return new KaleyraRelay(kaleyra, options);
}

function tell(call: () => void): void {
  try {
    call();
  } catch (err) {
    console.error(err);
  }
}
