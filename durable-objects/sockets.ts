/**
 * The session's sockets: what each carries in its (hibernation-safe) attachment, sending, and the
 * per-socket frame rate limit.
 * Invariant: only verified and provisional sockets are session clients: they get state broadcasts
 * and token requests. Any other socket hears only about its own proof.
 */
import { encode, type ServerFrame } from "../core/protocol";
import type { SessionRoute } from "./session-route";

export interface Attachment {
  clientId: string;
  /** When the socket attached: clients are asked for tokens oldest first. */
  attachedAt: number;
  route: SessionRoute;
  /** Proved who it is (access-link sockets are, by the link). */
  verified: boolean;
  /**
   * Started the session itself, unproven: a client of that session until it connects. It is
   * verified when the remote accepts a token it supplied, and loses its place otherwise.
   */
  provisional?: boolean;
  /** The last token request this (provisional) socket answered with a token. */
  suppliedRequestId?: string;
  /** Sent `connect` before proving: connect once verified. */
  pendingConnect?: boolean;
  /** The verification token request this socket must answer (token proof). */
  verifyRequestId?: string;
}

export const MAX_SOCKETS_PER_SESSION = 32;
/** Sockets that have not proved who they are; a newcomer past this closes the oldest of them. */
export const MAX_UNPROVEN_SOCKETS = 8;
export const MAX_FRAMES_PER_SECOND = 20;
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

export function isClient(a: Attachment): boolean {
  return a.verified || a.provisional === true;
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
