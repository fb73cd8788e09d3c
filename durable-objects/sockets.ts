/**
 * The session's sockets: what each carries in its (hibernation-safe) attachment, sending, and the
 * per-socket frame rate limit.
 * Invariant: only proven sockets are session clients: they get state broadcasts, events and token
 * requests. Any other socket hears only about its own proof (a prover gets its proof's requests).
 */
import type { SocketInfo } from "../core/socket-info";
import { encode, type ServerFrame } from "../core/protocol";
import type { SessionRoute } from "./session-route";

export interface Attachment {
  clientId: string;
  /** Session time the socket was accepted: its proof deadline runs from here, and clients are asked for tokens oldest first. */
  attachedAt: number;
  route: SessionRoute;
  /** Proved who it is (core/attach.ts): only proven sockets are the session's clients. */
  proven: boolean;
  /** The relay seq its auth frame said it saw last: replayed from right after its proof. */
  since?: number;
  /** The token request it was sent for its check (a session runs), until it answers. */
  checkRequestId?: string;
  /** Session time its last proof ended without proving it, or it was asked for a token: its proof deadline runs from here. */
  waitingSince?: number;
  /** Session time the session closed it (core/closing-sockets.ts: its deadline runs from here). */
  closedAt?: number;
}

const MAX_FRAMES_PER_SECOND = 20;
/** Answered by the runtime without waking the object (hibernation-friendly keep-alive). */
export const PING = "ping";
export const PONG = "pong";

export function attachmentOf(ws: WebSocket): Attachment {
  return ws.deserializeAttachment() as Attachment;
}

export function updateAttachment(ws: WebSocket, change: Partial<Attachment>): Attachment {
  const next = { ...attachmentOf(ws), ...change };
  ws.serializeAttachment(next);
  return next;
}

/** Open: neither closing nor closed. A socket whose close has started counts for nothing. */
export function isOpen(ws: WebSocket): boolean {
  return ws.readyState === WebSocket.OPEN;
}

const oldestFirst = (a: Attachment, b: Attachment) => a.attachedAt - b.attachedAt;

/**
 * The sockets the runtime still holds as the attach gate sees them, closing ones included (they
 * count until their peer answers: core/closing-sockets.ts); `prover` holds the session's pending
 * proof, `checking` are the sockets whose proof is being checked.
 */
export function socketInfos(sockets: readonly WebSocket[], prover: string | undefined, checking: ReadonlySet<string>): SocketInfo[] {
  return sockets
    .filter((ws) => ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CLOSING)
    .map((ws) => {
      const a = attachmentOf(ws);
      const info: SocketInfo = { id: a.clientId, attachedAt: a.attachedAt, proven: a.proven, proving: a.clientId === prover || checking.has(a.clientId), closing: !isOpen(ws) };
      if (a.waitingSince !== undefined) info.waitingSince = a.waitingSince;
      if (a.checkRequestId !== undefined) info.asked = true;
      if (a.closedAt !== undefined) info.closedAt = a.closedAt;
      return info;
    });
}

/** The session's clients: the open proven sockets (in no particular order: every one gets the same frames). */
export function provenSockets(sockets: readonly WebSocket[]): WebSocket[] {
  return sockets.filter((ws) => isOpen(ws) && attachmentOf(ws).proven);
}

/** The token sources core may ask, oldest first: the proven clients, and a prover for its own proof. */
export function tokenSources(sockets: readonly WebSocket[], prover: string | undefined): string[] {
  return sockets
    .filter(isOpen)
    .map(attachmentOf)
    .filter((a) => a.proven || a.clientId === prover)
    .sort(oldestFirst)
    .map((a) => a.clientId);
}

/**
 * Answers a close frame (1005/1006/1015 only describe what arrived and cannot be sent back). A
 * close this side started is already CLOSED when the peer's answer arrives: nothing to answer.
 */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CLOSED) return;
  try {
    ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
  } catch {
    // Already closed.
  }
}

export function send(ws: WebSocket, frame: ServerFrame): void {
  try {
    ws.send(encode(frame));
  } catch {
    // A socket closing right now gets its close event; nothing to do here.
  }
}

export function sendAll(sockets: readonly WebSocket[], frame: ServerFrame): void {
  const data = encode(frame);
  for (const ws of sockets) {
    try {
      ws.send(data);
    } catch {
      // See send.
    }
  }
}

/**
 * Frames per second per socket, counted in a one-second window. In memory only: after an
 * eviction a socket starts a fresh window, which a rate limit can afford.
 */
export class FrameRateLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** False when this frame is over the limit. */
  allow(clientId: string, now: number): boolean {
    const w = this.windows.get(clientId);
    if (!w || now - w.start >= 1_000) {
      this.windows.set(clientId, { start: now, count: 1 });
      return true;
    }
    w.count += 1;
    return w.count <= MAX_FRAMES_PER_SECOND;
  }

  forget(clientId: string): void {
    this.windows.delete(clientId);
  }
}
