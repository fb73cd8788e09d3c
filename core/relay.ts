/**
 * The relay's rules (issue 14, docs/protocol.md "Relay"): which event names belong to the session's
 * own lifecycle with Kaleyra, how large a relayed event may be, and the bounded buffer a client
 * re-attaching with `since` is served from. Pure: the caller passes the time.
 * Invariants:
 * - `seq` starts at 1 and grows by 1 per relayed event; a dropped (oversized) event takes no seq,
 *   so a hole in the seqs a client sees always means it missed something.
 * - The buffer holds at most MAX_EVENTS events and MAX_BYTES bytes of frames, none older than
 *   MAX_AGE_MS; `since` either serves every event after the client's seq or says `gap` first.
 */
import { LIFECYCLE_EVENTS } from "./kaleyra-events";
import { encode, MAX_FRAME_BYTES, MAX_REQUEST_ID_LENGTH, type ServerFrame } from "./protocol";

/**
 * The names the relay carries, either way: plain ASCII letters, digits and `: _ . -`. A name
 * outside it (a Unicode look-alike, a full-width or invisible character) could pass for a
 * reserved name in a client that normalises names before it compares them, so it is refused
 * up and dropped down. Upper case stays allowed (Kaleyra's own names are its to choose); the
 * reserved check ignores it instead.
 */
const PLAIN_EVENT_NAME = /^[A-Za-z0-9:_.-]{1,128}$/;

const RESERVED = new Set(LIFECYCLE_EVENTS);

/** What the relay does with an event name: carry it, refuse it as a lifecycle name, or refuse it as not plain. */
export type EventNameVerdict = "relay" | "reserved" | "not_plain";

export function eventNameVerdict(name: string): EventNameVerdict {
  if (!PLAIN_EVENT_NAME.test(name)) return "not_plain";
  // ASCII only here, so lower-casing is the whole case fold: `User:Force_Disconnect` is reserved.
  return RESERVED.has(name.toLowerCase()) ? "reserved" : "relay";
}

export const RELAY_LIMITS = {
  maxEvents: 256,
  maxBytes: 256 * 1_024,
  maxAgeMs: 60_000,
  /** A relayed event's frame at most this many UTF-8 bytes: 1 KiB under the frame limit. */
  maxEventFrameBytes: MAX_FRAME_BYTES - 1_024,
};
export type RelayLimits = typeof RELAY_LIMITS;

/** Kaleyra acks an emit within 10 s [web]; later, the client is answered remote_timeout. */
export const EMIT_ACK_TIMEOUT_MS = 10_000;

/** True for a lifecycle name in any case; false for a name that is not plain (see eventNameVerdict). */
export function isReservedEvent(name: string): boolean {
  return eventNameVerdict(name) === "reserved";
}

export type RemoteEventFrame = Extract<ServerFrame, { type: "remote_event" }>;

interface Held {
  frame: RemoteEventFrame;
  text: string;
  bytes: number;
  at: number;
}

export type PushResult = { relayed: true; frame: RemoteEventFrame; text: string } | { relayed: false; bytes: number };

/** What a re-attaching client is sent: the events it missed, after a gap when some are gone. */
export type Replay = { events: RemoteEventFrame[] } | { gap: number; events: RemoteEventFrame[] };

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** What a session stores of its buffer, so the stream survives hibernation (plain data). */
export interface RelaySnapshot {
  seq: number;
  held: { frame: RemoteEventFrame; at: number }[];
}

export class RelayBuffer {
  private readonly held: Held[] = [];
  private bytes = 0;
  private lastSeq = 0;

  constructor(private readonly limits: RelayLimits = RELAY_LIMITS, from?: RelaySnapshot) {
    if (!from) return;
    this.lastSeq = from.seq;
    for (const { frame, at } of from.held) {
      const text = encode(frame);
      const bytes = utf8Bytes(text);
      this.held.push({ frame, text, bytes, at });
      this.bytes += bytes;
    }
  }

  /** The seq and the held events, to store; pruned at `now` first. */
  snapshot(now: number): RelaySnapshot {
    this.prune(now);
    return { seq: this.lastSeq, held: this.held.map(({ frame, at }) => ({ frame, at })) };
  }

  /** The seq of the last relayed event (0 before the first). */
  get seq(): number {
    return this.lastSeq;
  }

  /** Takes one event from Kaleyra: relayed with the next seq, or dropped for its size (no seq). */
  push(name: string, data: unknown, now: number): PushResult {
    const frame: RemoteEventFrame = { type: "remote_event", seq: this.lastSeq + 1, name, data: data === undefined ? null : data };
    const text = encode(frame);
    const bytes = utf8Bytes(text);
    if (bytes > this.limits.maxEventFrameBytes) return { relayed: false, bytes };
    this.lastSeq = frame.seq;
    this.held.push({ frame, text, bytes, at: now });
    this.bytes += bytes;
    this.prune(now);
    return { relayed: true, frame, text };
  }

  /**
   * The events after `seq` for a client that saw up to `seq`. A gap (`after: seq`) comes first when
   * some of them are gone (aged or pushed out), or when `seq` is ahead of this buffer (the object
   * restarted and its seqs began again: then every held event is new to the client).
   */
  since(seq: number, now: number): Replay {
    this.prune(now);
    if (seq > this.lastSeq) return { gap: seq, events: this.held.map((h) => h.frame) };
    const events = this.held.filter((h) => h.frame.seq > seq).map((h) => h.frame);
    const firstHeld = this.held[0]?.frame.seq ?? this.lastSeq + 1;
    return seq + 1 < firstHeld ? { gap: seq, events } : { events };
  }

  private prune(now: number): void {
    const { maxEvents, maxBytes, maxAgeMs } = this.limits;
    while (this.held.length > 0 && (this.held.length > maxEvents || this.bytes > maxBytes || now - this.held[0]!.at > maxAgeMs)) {
      this.bytes -= this.held.shift()!.bytes;
    }
  }
}

/** The id of a `remote_emit` that failed validation, so its sender can still be answered. */
export function refusedEmitId(raw: string | ArrayBuffer): string | undefined {
  if (typeof raw !== "string") return undefined;
  try {
    const o = JSON.parse(raw) as Record<string, unknown> | null;
    const id = o?.type === "remote_emit" ? o.id : undefined;
    return typeof id === "string" && id.length >= 1 && id.length <= MAX_REQUEST_ID_LENGTH ? id : undefined;
  } catch {
    return undefined;
  }
}
