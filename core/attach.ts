/**
 * The attach gate: what a session socket may do before and after it proves who it is. Pure rules;
 * the session object performs the checks they ask for (signatures, the remote) and feeds back the
 * outcome.
 * Invariants:
 * - Proof first: a socket that has not proved the user (token route) or the link (link route) can
 *   send only what proves it. Every other frame is answered `auth_required` and changes nothing.
 * - An unproven socket learns nothing about the session: it is sent no state, no reason, no
 *   broadcast, and no token request except those of its own proof.
 * - A socket that started nothing and proved nothing holds nothing: it is not a client, does not
 *   count against any session or app limit, and is closed at its proof deadline (a socket whose
 *   proof is running is not: the seed's schedule runs as long as it takes).
 * - One proof in flight per socket (`auth_pending`), a few token checks per session at once.
 */
import { closingCount, MAX_CLOSING_SOCKETS } from "./closing-sockets";
import type { ErrorCode } from "./errors";
import type { AttachMode, ClientFrame } from "./protocol";
import type { SocketInfo } from "./socket-info";

/** How long an unproven socket may stay open (its proof deadline, an alarm duty of the session). */
export const PROOF_DEADLINE_MS = 30_000;
/** Unproven sockets one session keeps waiting; a newcomer past this closes the oldest of them. */
export const MAX_UNPROVEN_SOCKETS = 8;
/** Proven sockets one session serves; the next upgrade is refused. */
export const MAX_PROVEN_SOCKETS = 32;

/** Token checks one session runs at once (each may open a Kaleyra connection or send an update). */
export const MAX_TOKEN_CHECKS = 4;

export interface GateInput {
  route: "token" | "access_link";
  /** The proofs the app accepts on token routes. */
  modes: readonly AttachMode[];
  proven: boolean;
  /** This socket's own proof started the session and is running (see core/transition). */
  proving: boolean;
  /** This socket's proof is being checked right now (resume, ticket, token, link). */
  checking: boolean;
  /** The token request this socket was sent for its check (a session runs), until answered. */
  checkRequestId?: string;
  /** The session holds or is trying to hold a remote session (a pending proof counts). */
  sessionRunning: boolean;
  /** The session is connected with a token: a joining token goes to its live connection. */
  sessionConnected: boolean;
  /** The session's token checks in flight, of every socket. */
  tokenChecks: number;
  /** The socket's user (token routes). */
  userId?: string;
  /** The user the frame's token names, read without verifying it (only Kaleyra can). */
  tokenUser?: string;
}

export type GateDecision =
  /** A proven socket's frame: the session handles it. */
  | { kind: "session" }
  /** Already proven: a further proof changes nothing. */
  | { kind: "ignore" }
  | { kind: "check_resume"; credential: string }
  | { kind: "check_ticket"; ticket: string }
  /** A session runs and the socket has no token yet: send it a token request for its check. */
  | { kind: "ask_token" }
  /**
   * A session runs: the token proves the user when Kaleyra accepts it for them, as an update on
   * the live connection when the session is connected, else on a connection of its own.
   */
  | { kind: "check_token"; token: string; via: "update" | "connect" }
  /** The socket's provider had no token for its check. */
  | { kind: "check_failed" }
  /** No session runs: the socket proves the user by connecting it (its token, if it sent one, is attempt 1). */
  | { kind: "start_proof"; token?: string }
  /** An answer to a token request of this socket's own proof: the session's retry handles it. */
  | { kind: "proof_answer" }
  /** Link route: the link proves the socket when its digest is the route's; then it connects. */
  | { kind: "check_link"; accessLink: string }
  | { kind: "refuse"; code: ErrorCode; field?: string };

export function gate(frame: ClientFrame, g: GateInput): GateDecision {
  if (g.proven) return frame.type === "auth" ? { kind: "ignore" } : { kind: "session" };
  const isProof = frame.type === "auth" || (g.route === "access_link" && frame.type === "connect");
  // One proof in flight per socket, of any kind and in any state: a second one waits for the
  // first one's answer (so one socket cannot multiply into many checks).
  if (isProof && (g.proving || g.checking || g.checkRequestId !== undefined)) return { kind: "refuse", code: "auth_pending" };
  if (g.route === "access_link") {
    return frame.type === "connect" && "accessLink" in frame ? { kind: "check_link", accessLink: frame.accessLink } : { kind: "refuse", code: "auth_required" };
  }
  switch (frame.type) {
    case "auth": {
      const mode: AttachMode = "resume" in frame ? "resume" : "ticket" in frame ? "ticket" : "token";
      if (!g.modes.includes(mode)) return { kind: "refuse", code: "auth_failed", field: mode };
      if ("resume" in frame) return { kind: "check_resume", credential: frame.resume };
      if ("ticket" in frame) return { kind: "check_ticket", ticket: frame.ticket };
      const token = "token" in frame ? frame.token : undefined;
      if (!g.sessionRunning) return token === undefined ? { kind: "start_proof" } : { kind: "start_proof", token };
      return token === undefined ? { kind: "ask_token" } : checkToken(token, g);
    }
    case "token":
    case "token_failed": {
      if (g.proving) return { kind: "proof_answer" };
      if (g.checkRequestId === undefined || frame.requestId !== g.checkRequestId || g.checking) return { kind: "refuse", code: "auth_required" };
      return frame.type === "token" ? checkToken(frame.token, g) : { kind: "check_failed" };
    }
    default:
      return { kind: "refuse", code: "auth_required" };
  }
}

function checkToken(token: string, g: GateInput): GateDecision {
  // A token that does not name this socket's user is refused before anything goes to Kaleyra: one
  // user's token is never sent on another user's connection.
  if (g.tokenUser === undefined || g.tokenUser !== g.userId) return { kind: "refuse", code: "auth_failed", field: "token" };
  // Unproven sockets must not multiply into Kaleyra connections: a few checks at a time.
  if (g.tokenChecks >= MAX_TOKEN_CHECKS) return { kind: "refuse", code: "unavailable" };
  return { kind: "check_token", token, via: g.sessionConnected ? "update" : "connect" };
}

function waiting(s: SocketInfo): boolean {
  return !s.proven && !s.proving && !s.closing;
}

/** A socket that has said nothing for this long since it came, or since its last proof ended, is closed. */
function deadlineOf(s: SocketInfo): number {
  return (s.waitingSince ?? s.attachedAt) + PROOF_DEADLINE_MS;
}

/** When the earliest waiting socket's proof deadline falls; undefined when none waits. */
export function nextProofDeadline(sockets: readonly SocketInfo[]): number | undefined {
  const times = sockets.filter(waiting).map(deadlineOf);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** The waiting sockets whose proof deadline has passed. */
export function overdueSockets(sockets: readonly SocketInfo[], now: number): string[] {
  return sockets.filter((s) => waiting(s) && deadlineOf(s) <= now).map((s) => s.id);
}

/**
 * What an overdue socket is told as it is closed: one asked for its check's token that never
 * answered has failed that check, like a token attempt that times out (its client tries again);
 * any other said nothing at all.
 */
export function overdueCode(s: SocketInfo): "auth_failed" | "auth_timeout" {
  return s.asked === true ? "auth_failed" : "auth_timeout";
}

/**
 * What a new upgrade does to the session's sockets: refused when the open proven ones are at their
 * limit, or when MAX_CLOSING_SOCKETS closed ones still wait for their peer (a flood that ignores
 * closes); otherwise it may first close the oldest waiting socket, so strangers cannot fill the
 * queue for good (the prover of a running proof is never the one closed).
 */
export function admit(sockets: readonly SocketInfo[]): { refuse: true; reason: "proven" | "closing" } | { refuse: false; evict?: string } {
  if (closingCount(sockets) >= MAX_CLOSING_SOCKETS) return { refuse: true, reason: "closing" };
  if (sockets.filter((s) => s.proven && !s.closing).length >= MAX_PROVEN_SOCKETS) return { refuse: true, reason: "proven" };
  const queue = sockets.filter(waiting).sort((a, b) => a.attachedAt - b.attachedAt);
  return queue.length >= MAX_UNPROVEN_SOCKETS ? { refuse: false, evict: queue[0]!.id } : { refuse: false };
}
