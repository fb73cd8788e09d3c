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
 *   count against any session or app limit, and is closed at its proof deadline.
 */
import { closingCount, MAX_CLOSING_SOCKETS } from "./closing-sockets";
import type { ErrorCode } from "./errors";
import type { AttachMode, ClientFrame } from "./protocol";

/** How long an unproven socket may stay open (its proof deadline, an alarm duty of the session). */
export const PROOF_DEADLINE_MS = 30_000;
/** Unproven sockets one session keeps waiting; a newcomer past this closes the oldest of them. */
export const MAX_UNPROVEN_SOCKETS = 8;
/** Proven sockets one session serves; the next upgrade is refused. */
export const MAX_PROVEN_SOCKETS = 32;

export interface GateInput {
  route: "token" | "access_link";
  /** The proofs the app accepts on token routes. */
  modes: readonly AttachMode[];
  proven: boolean;
  /** This socket's own token started the session and is proving itself (see core/transition). */
  proving: boolean;
  /** The session holds or is trying to hold a remote session (a pending proof counts). */
  sessionRunning: boolean;
}

export type GateDecision =
  /** A proven socket's frame: the session handles it. */
  | { kind: "session" }
  /** Already proven: a further proof changes nothing. */
  | { kind: "ignore" }
  | { kind: "check_resume"; credential: string }
  | { kind: "check_ticket"; ticket: string }
  /** The session runs: the token proves the user when the remote accepts it for them. */
  | { kind: "check_token"; token: string }
  /** No session runs: the token proves the user by connecting the session (one step). */
  | { kind: "start_proof"; token: string }
  /** An answer to a token request of this socket's own proof: the session's retry handles it. */
  | { kind: "proof_answer" }
  /** Link route: the link proves the socket when its digest is the route's; then it connects. */
  | { kind: "check_link"; accessLink: string }
  | { kind: "refuse"; code: ErrorCode; field?: string };

export function gate(frame: ClientFrame, g: GateInput): GateDecision {
  if (g.proven) return frame.type === "auth" ? { kind: "ignore" } : { kind: "session" };
  if (g.route === "access_link") {
    return frame.type === "connect" && "accessLink" in frame ? { kind: "check_link", accessLink: frame.accessLink } : { kind: "refuse", code: "auth_required" };
  }
  switch (frame.type) {
    case "auth": {
      const mode: AttachMode = "resume" in frame ? "resume" : "ticket" in frame ? "ticket" : "token";
      if (!g.modes.includes(mode)) return { kind: "refuse", code: "auth_failed", field: mode };
      if ("resume" in frame) return { kind: "check_resume", credential: frame.resume };
      if ("ticket" in frame) return { kind: "check_ticket", ticket: frame.ticket };
      // One proof at a time: a socket already proving with its token waits for that proof's end.
      if (g.proving) return { kind: "refuse", code: "auth_pending" };
      return g.sessionRunning ? { kind: "check_token", token: frame.token } : { kind: "start_proof", token: frame.token };
    }
    case "token":
    case "token_failed":
      return g.proving ? { kind: "proof_answer" } : { kind: "refuse", code: "auth_required" };
    default:
      return { kind: "refuse", code: "auth_required" };
  }
}

export interface SocketInfo {
  id: string;
  /** Session time the socket was accepted. */
  attachedAt: number;
  proven: boolean;
  /** Holds the session's pending proof: it is not closed for being slow, its proof is running. */
  proving: boolean;
  /** The session closed it and the peer has not answered yet (core/closing-sockets.ts). */
  closing: boolean;
  /** Session time the session closed it. */
  closedAt?: number;
}

function waiting(s: SocketInfo): boolean {
  return !s.proven && !s.proving && !s.closing;
}

/** When the earliest waiting socket's proof deadline falls; undefined when none waits. */
export function nextProofDeadline(sockets: readonly SocketInfo[]): number | undefined {
  const times = sockets.filter(waiting).map((s) => s.attachedAt + PROOF_DEADLINE_MS);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** The waiting sockets whose proof deadline has passed. */
export function overdueSockets(sockets: readonly SocketInfo[], now: number): string[] {
  return sockets.filter((s) => waiting(s) && s.attachedAt + PROOF_DEADLINE_MS <= now).map((s) => s.id);
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
