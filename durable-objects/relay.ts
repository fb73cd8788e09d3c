/**
 * The session's relay (issue 14; docs/protocol.md "Relay"): Kaleyra's events down to every proven
 * client, clients' emits up with an ack. Glue around core/relay.ts, which holds the rules.
 * Invariants:
 * - Only the sockets the session passes in (its proven clients) hear events; an unproven socket
 *   never does, and a replay happens only right after a socket's proof.
 * - Every remote_emit gets exactly one remote_ack, to its own socket: the remote's answer, or
 *   `remote_timeout` at its deadline (run by the session's alarm), whichever comes first.
 * - The stream (its seq and the replay buffer) is stored with every relayed event, before the event
 *   is sent, so a session that hibernates between events (its connector holds the connection)
 *   keeps numbering and replaying across wake-ups. Pending emits are memory only: an object
 *   evicted while an emit waits forgets it (it waits on a connector's answer, so it is awake).
 */
import { kaleyraError } from "../core/errors";
import type { ClientFrame, RelayErrorCode, ServerFrame } from "../core/protocol";
import { EMIT_ACK_TIMEOUT_MS, eventNameVerdict, RelayBuffer, RELAY_LIMITS, type RelaySnapshot } from "../core/relay";
import { encode, MAX_FRAME_BYTES } from "../core/protocol";
import type { KaleyraRemote } from "../core/port";
import { send } from "./sockets";

export interface RelayHost {
  remote: KaleyraRemote;
  now(): number;
  /** Where the stream is kept across hibernation (the session's storage). */
  kv?: SyncKvStorage;
}

/** The storage key of the relay's stream. */
const RELAY_KEY = "relay";

interface PendingEmit {
  ws: WebSocket;
  id: string;
  deadline: number;
}

export class SessionRelay {
  private buffer: RelayBuffer;
  /** Events not relayed because their frame was too large (docs/protocol.md). */
  dropped = 0;
  private readonly pending = new Map<string, PendingEmit>();

  constructor(private readonly host: RelayHost) {
    this.buffer = new RelayBuffer(RELAY_LIMITS, host.kv?.get<RelaySnapshot>(RELAY_KEY));
  }

  /** One Kaleyra event: to every client in arrival order, and into the buffer. */
  event(name: string, data: unknown, clients: readonly WebSocket[]): void {
    // Lifecycle events are the session's own (the adapter turns them into notices); never relayed,
    // in any case. A name that is not plain ASCII could pass for one in a client: dropped, counted.
    const verdict = eventNameVerdict(name);
    if (verdict === "reserved") return;
    if (verdict === "not_plain") {
      this.dropped += 1;
      console.warn("relay: event name not plain, dropped", { length: name.length, dropped: this.dropped });
      return;
    }
    const pushed = this.buffer.push(name, data, this.host.now());
    if (!pushed.relayed) {
      this.dropped += 1;
      console.warn("relay: event too large, dropped", { name: name.slice(0, 128), bytes: pushed.bytes, dropped: this.dropped });
      return;
    }
    // Stored before it is sent (the output gate holds the frames until the write is durable): a
    // client never sees a seq that a restart could hand out again.
    this.host.kv?.put(RELAY_KEY, this.buffer.snapshot(this.host.now()));
    for (const ws of clients) {
      try {
        ws.send(pushed.text);
      } catch {
        // A socket closing right now gets its close event.
      }
    }
  }

  /** The session's data was cleared: the stream starts again at seq 1, with nothing held. */
  clear(): void {
    this.buffer = new RelayBuffer();
  }

  /** Right after a proof that carried `since`: what the socket missed, a gap first if needed. */
  replay(ws: WebSocket, since: number): void {
    const replay = this.buffer.since(since, this.host.now());
    if ("gap" in replay) send(ws, { type: "remote_gap", after: replay.gap });
    for (const frame of replay.events) send(ws, frame);
  }

  /** A proven client's emit; `remoteSessionId` is set only while the session is connected. */
  emit(ws: WebSocket, clientId: string, frame: Extract<ClientFrame, { type: "remote_emit" }>, remoteSessionId: string | undefined): void {
    const key = `${clientId}\n${frame.id}`;
    const verdict = eventNameVerdict(frame.name);
    if (verdict === "reserved") return ackError(ws, frame.id, "reserved_event");
    if (verdict === "not_plain") return ackError(ws, frame.id, "invalid_frame");
    if (remoteSessionId === undefined) return ackError(ws, frame.id, "not_connected");
    // One answer per id: a second emit with the id of a pending one is refused, the first stands.
    if (this.pending.has(key)) return ackError(ws, frame.id, "invalid_frame");
    const entry: PendingEmit = { ws, id: frame.id, deadline: this.host.now() + EMIT_ACK_TIMEOUT_MS };
    this.pending.set(key, entry);
    const settle = (answer: ServerFrame) => {
      if (this.pending.get(key) !== entry) return; // already answered (timed out)
      this.pending.delete(key);
      send(ws, answer);
    };
    this.host.remote
      .emit(remoteSessionId, frame.name, frame.data)
      .then(
        (result) => settle(result.ok ? dataAck(frame.id, frame.name, result.data) : errorAck(frame.id, result.error)),
        () => settle(errorAck(frame.id, "not_connected")),
      );
  }

  /** An emit refused before it reached the relay (a bad field): answered by its id. */
  refuse(ws: WebSocket, id: string, code: RelayErrorCode): void {
    ackError(ws, id, code);
  }

  /** Answers `remote_timeout` to every emit past its deadline (the session's alarm). */
  expire(now: number): void {
    for (const [key, entry] of this.pending) {
      if (now < entry.deadline) continue;
      this.pending.delete(key);
      send(entry.ws, errorAck(entry.id, "remote_timeout"));
    }
  }

  /** The earliest emit deadline, for the session's one alarm. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const { deadline } of this.pending.values()) next = next === undefined ? deadline : Math.min(next, deadline);
    return next;
  }

  /** A socket left: its pending emits have nobody to answer. */
  forget(clientId: string): void {
    for (const key of [...this.pending.keys()]) if (key.startsWith(`${clientId}\n`)) this.pending.delete(key);
  }
}

function errorAck(id: string, code: RelayErrorCode): ServerFrame {
  return { type: "remote_ack", id, error: { code, message: kaleyraError(code).message } };
}

function ackError(ws: WebSocket, id: string, code: RelayErrorCode): void {
  send(ws, errorAck(id, code));
}

/** Kaleyra's ack data, unless its frame would pass the frame limit: then a refusal, logged by size. */
function dataAck(id: string, name: string, data: unknown): ServerFrame {
  const frame: ServerFrame = { type: "remote_ack", id, data: data === undefined ? null : data };
  const bytes = new TextEncoder().encode(encode(frame)).length;
  if (bytes <= MAX_FRAME_BYTES) return frame;
  console.warn("relay: ack too large, refused", { name: name.slice(0, 128), bytes });
  return errorAck(id, "remote_refused");
}
