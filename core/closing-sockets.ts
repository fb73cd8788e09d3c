/**
 * Sockets the session closed whose peer has not answered the close (issue 20, break 2). The
 * runtime keeps such a socket, with its connection, until the peer answers or drops it: workerd
 * has no call that drops one hibernatable socket (docs/security.md "Sockets that ignore a close").
 * These rules bound what a peer that never answers can hold. Pure: the caller passes the time.
 * Invariants:
 * - A closing socket counts until it is gone: past MAX_CLOSING_SOCKETS of them, a session takes
 *   no new socket (core/attach.ts `admit`).
 * - A session that holds nothing but closing sockets, and runs nothing (no connection, no proof:
 *   nothing is in its memory that a restart would lose), drops them all CLOSE_DEADLINE_MS after
 *   the oldest was closed, answered or not: the object restarts (its storage is kept).
 */
import type { SocketInfo } from "./socket-info";
import type { SessionState } from "./session";

/** Closing sockets one session holds before it refuses new ones. */
export const MAX_CLOSING_SOCKETS = 16;
/** How long a peer has to answer a close before a quiet session drops the socket anyway. */
export const CLOSE_DEADLINE_MS = 10_000;

/** A session whose restart loses nothing: no connection, no remote call, no proof in memory. */
export function sessionQuiet(state: SessionState): boolean {
  return state.status === "disconnected" && state.proof === undefined && state.pendingRemote === undefined;
}

export function closingCount(sockets: readonly SocketInfo[]): number {
  return sockets.filter((s) => s.closing).length;
}

/**
 * When the closing sockets are to be dropped: CLOSE_DEADLINE_MS after the oldest close, while
 * every socket is closing and the session is quiet; otherwise no duty (a session with open
 * sockets keeps its closing ones within MAX_CLOSING_SOCKETS instead).
 */
export function closeDeadline(sockets: readonly SocketInfo[], quiet: boolean): number | undefined {
  if (!quiet || sockets.length === 0 || sockets.some((s) => !s.closing)) return undefined;
  return Math.min(...sockets.map((s) => (s.closedAt ?? s.attachedAt) + CLOSE_DEADLINE_MS));
}

/** Whether the session drops its closing sockets now. */
export function dropClosingSockets(sockets: readonly SocketInfo[], quiet: boolean, now: number): boolean {
  const due = closeDeadline(sockets, quiet);
  return due !== undefined && due <= now;
}
