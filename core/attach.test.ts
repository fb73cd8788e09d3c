/** The attach gate's rules: what a socket may do before and after it proves who it is. */
import { describe, expect, it } from "vitest";
import { admit, gate, MAX_PROVEN_SOCKETS, MAX_TOKEN_CHECKS, MAX_UNPROVEN_SOCKETS, nextProofDeadline, overdueCode, overdueSockets, PROOF_DEADLINE_MS, type GateInput } from "./attach";
import type { SocketInfo } from "./socket-info";
import type { ClientFrame } from "./protocol";

const TOKEN_ROUTE: GateInput = {
  route: "token",
  modes: ["token", "resume", "ticket"],
  proven: false,
  proving: false,
  checking: false,
  sessionRunning: false,
  sessionConnected: false,
  tokenChecks: 0,
  userId: "alice",
  tokenUser: "alice",
};
const RUNNING: GateInput = { ...TOKEN_ROUTE, sessionRunning: true };
const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/abc";

const sessionFrames: ClientFrame[] = [
  { type: "connect", userId: "alice" },
  { type: "connect", accessLink: LINK },
  { type: "token", requestId: "n.2", token: "junk" },
  { type: "token_failed", requestId: "n.1" },
  { type: "disconnect", clearSavedData: true },
];

describe("proof first: an unproven socket can send only what proves it", () => {
  it.each(sessionFrames)("%o before proof is answered auth_required (whether or not a session runs)", (frame) => {
    expect(gate(frame, TOKEN_ROUTE)).toEqual({ kind: "refuse", code: "auth_required" });
    expect(gate(frame, { ...TOKEN_ROUTE, sessionRunning: true })).toEqual({ kind: "refuse", code: "auth_required" });
  });

  it("a resume credential or a ticket is checked, when the app accepts that mode", () => {
    expect(gate({ type: "auth", resume: "r" }, TOKEN_ROUTE)).toEqual({ kind: "check_resume", credential: "r" });
    expect(gate({ type: "auth", ticket: "t" }, TOKEN_ROUTE)).toEqual({ kind: "check_ticket", ticket: "t" });
    expect(gate({ type: "auth", ticket: "t" }, { ...TOKEN_ROUTE, modes: ["token"] })).toEqual({ kind: "refuse", code: "auth_failed", field: "ticket" });
  });

  it("a token proves and connects in one step when no session runs (it is attempt 1), and is checked against a running one", () => {
    expect(gate({ type: "auth", token: "k" }, TOKEN_ROUTE)).toEqual({ kind: "start_proof", token: "k" });
    expect(gate({ type: "auth", token: "k" }, RUNNING)).toEqual({ kind: "check_token", token: "k", via: "connect" });
    expect(gate({ type: "auth", token: "k" }, { ...TOKEN_ROUTE, modes: ["resume"] })).toEqual({ kind: "refuse", code: "auth_failed", field: "token" });
  });

  it("asking to be asked for the token: with no session it starts the proof (attempt 1 is a token request); with one it gets a request for its check", () => {
    expect(gate({ type: "auth", askToken: true }, TOKEN_ROUTE)).toEqual({ kind: "start_proof" });
    expect(gate({ type: "auth", askToken: true }, RUNNING)).toEqual({ kind: "ask_token" });
    expect(gate({ type: "auth", askToken: true }, { ...TOKEN_ROUTE, modes: ["resume", "ticket"] })).toEqual({ kind: "refuse", code: "auth_failed", field: "token" });
  });

  it("the answer to its check's request is checked; any other answer is auth_required; a failure is the check's failure", () => {
    const asked = { ...RUNNING, checkRequestId: "check.1" };
    expect(gate({ type: "token", requestId: "check.1", token: "k" }, asked)).toEqual({ kind: "check_token", token: "k", via: "connect" });
    expect(gate({ type: "token_failed", requestId: "check.1" }, asked)).toEqual({ kind: "check_failed" });
    expect(gate({ type: "token", requestId: "check.2", token: "k" }, asked)).toEqual({ kind: "refuse", code: "auth_required" });
    expect(gate({ type: "token", requestId: "check.1", token: "k" }, RUNNING)).toEqual({ kind: "refuse", code: "auth_required" });
  });

  it("a joining token goes to the live connection when the session is connected (no second CONNECT)", () => {
    expect(gate({ type: "auth", token: "k" }, { ...RUNNING, sessionConnected: true })).toEqual({ kind: "check_token", token: "k", via: "update" });
  });

  it("a token that does not name the socket's user is refused before anything is sent to Kaleyra", () => {
    for (const tokenUser of ["mallory", undefined]) {
      const g = { ...RUNNING, sessionConnected: true, ...(tokenUser === undefined ? {} : { tokenUser }) };
      if (tokenUser === undefined) delete (g as Partial<GateInput>).tokenUser;
      expect(gate({ type: "auth", token: "k" }, g)).toEqual({ kind: "refuse", code: "auth_failed", field: "token" });
    }
  });

  it("at most MAX_TOKEN_CHECKS token checks run at once per session: the next one is unavailable (retry)", () => {
    expect(gate({ type: "auth", token: "k" }, { ...RUNNING, tokenChecks: MAX_TOKEN_CHECKS - 1 })).toMatchObject({ kind: "check_token" });
    expect(gate({ type: "auth", token: "k" }, { ...RUNNING, tokenChecks: MAX_TOKEN_CHECKS })).toEqual({ kind: "refuse", code: "unavailable" });
  });

  it("while its token proof runs, a socket may answer its own proof's requests and nothing else", () => {
    const proving = { ...TOKEN_ROUTE, proving: true, sessionRunning: true };
    expect(gate({ type: "token", requestId: "n.2", token: "k" }, proving)).toEqual({ kind: "proof_answer" });
    expect(gate({ type: "token_failed", requestId: "n.2" }, proving)).toEqual({ kind: "proof_answer" });
    expect(gate({ type: "auth", token: "k2" }, proving)).toEqual({ kind: "refuse", code: "auth_pending" });
    expect(gate({ type: "disconnect", clearSavedData: true }, proving)).toEqual({ kind: "refuse", code: "auth_required" });
    expect(gate({ type: "connect", userId: "alice" }, proving)).toEqual({ kind: "refuse", code: "auth_required" });
  });

  it.each([
    ["its token proof runs", { proving: true }],
    ["a check of its proof is in flight", { checking: true }],
    ["it was asked for its check's token", { checkRequestId: "check.1" }],
  ] as const)("one proof in flight per socket: while %s, every proof of every mode is auth_pending", (_, state) => {
    for (const frame of [{ type: "auth", token: "k" }, { type: "auth", askToken: true }, { type: "auth", resume: "r" }, { type: "auth", ticket: "t" }] as ClientFrame[]) {
      expect(gate(frame, { ...RUNNING, ...state })).toEqual({ kind: "refuse", code: "auth_pending" });
      expect(gate(frame, { ...TOKEN_ROUTE, ...state })).toEqual({ kind: "refuse", code: "auth_pending" });
    }
    expect(gate({ type: "connect", accessLink: LINK }, { ...TOKEN_ROUTE, ...state, route: "access_link" })).toEqual({ kind: "refuse", code: "auth_pending" });
  });

  it("on a link route only the connect frame with a link is a proof", () => {
    const link: GateInput = { ...TOKEN_ROUTE, route: "access_link" };
    expect(gate({ type: "connect", accessLink: LINK }, link)).toEqual({ kind: "check_link", accessLink: LINK });
    for (const frame of [sessionFrames[0]!, sessionFrames[2]!, sessionFrames[4]!, { type: "auth", token: "k" } as ClientFrame]) {
      expect(gate(frame, link)).toEqual({ kind: "refuse", code: "auth_required" });
    }
  });

  it("a proven socket's frames go to the session; another proof changes nothing", () => {
    const proven = { ...TOKEN_ROUTE, proven: true };
    for (const frame of sessionFrames) expect(gate(frame, proven)).toEqual({ kind: "session" });
    expect(gate({ type: "auth", ticket: "t" }, proven)).toEqual({ kind: "ignore" });
  });
});

const socket = (id: string, attachedAt: number, proven = false, proving = false, waitingSince?: number): SocketInfo =>
  waitingSince === undefined ? { id, attachedAt, proven, proving, closing: false } : { id, attachedAt, proven, proving, closing: false, waitingSince };

describe("unproven sockets hold nothing", () => {
  it("have a proof deadline: the earliest waiting one arms the alarm; proven sockets and a running prover have none", () => {
    const sockets = [socket("a", 100, true), socket("b", 200), socket("c", 150, false, true), socket("d", 300)];
    expect(nextProofDeadline(sockets)).toBe(200 + PROOF_DEADLINE_MS);
    expect(overdueSockets(sockets, 200 + PROOF_DEADLINE_MS)).toEqual(["b"]);
    expect(overdueSockets(sockets, 10 ** 9)).toEqual(["b", "d"]);
    expect(nextProofDeadline([socket("a", 1, true)])).toBeUndefined();
  });

  it("a socket asked for its check's token that never answers is closed as a failed check (its client tries again), any other as auth_timeout", () => {
    expect(overdueCode({ ...socket("a", 0), asked: true })).toBe("auth_failed");
    expect(overdueCode(socket("a", 0))).toBe("auth_timeout");
  });

  it("a socket whose proof ended (or that was asked for a token) has 30 s from then: only a socket that says nothing at all is closed", () => {
    const sockets = [socket("b", 200, false, false, 5_000)];
    expect(nextProofDeadline(sockets)).toBe(5_000 + PROOF_DEADLINE_MS);
    expect(overdueSockets(sockets, 200 + PROOF_DEADLINE_MS)).toEqual([]);
  });

  it("a full queue of waiting sockets: a newcomer closes the oldest waiting one, never a prover or a client", () => {
    const waiting = Array.from({ length: MAX_UNPROVEN_SOCKETS }, (_, i) => socket(`w${i}`, 10 + i));
    expect(admit([socket("prover", 1, false, true), socket("owner", 0, true), ...waiting])).toEqual({ refuse: false, evict: "w0" });
    expect(admit(waiting.slice(1))).toEqual({ refuse: false });
  });

  it("only proven sockets count toward the per-session limit", () => {
    const proven = Array.from({ length: MAX_PROVEN_SOCKETS }, (_, i) => socket(`p${i}`, i, true));
    expect(admit(proven)).toEqual({ refuse: true, reason: "proven" });
    const strangers = Array.from({ length: 32 }, (_, i) => socket(`s${i}`, i));
    // 32 strangers cannot lock the user out: the next socket is admitted (the oldest stranger goes).
    expect(admit(strangers)).toMatchObject({ refuse: false, evict: "s0" });
  });
});
