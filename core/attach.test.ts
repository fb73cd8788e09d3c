/** The attach gate's rules: what a socket may do before and after it proves who it is. */
import { describe, expect, it } from "vitest";
import { admit, gate, MAX_PROVEN_SOCKETS, MAX_UNPROVEN_SOCKETS, nextProofDeadline, overdueSockets, PROOF_DEADLINE_MS, type GateInput, type SocketInfo } from "./attach";
import type { ClientFrame } from "./protocol";

const TOKEN_ROUTE: GateInput = { route: "token", modes: ["token", "resume", "ticket"], proven: false, proving: false, sessionRunning: false };
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

  it("a token proves and connects in one step when no session runs, and is checked against a running one", () => {
    expect(gate({ type: "auth", token: "k" }, TOKEN_ROUTE)).toEqual({ kind: "start_proof", token: "k" });
    expect(gate({ type: "auth", token: "k" }, { ...TOKEN_ROUTE, sessionRunning: true })).toEqual({ kind: "check_token", token: "k" });
    expect(gate({ type: "auth", token: "k" }, { ...TOKEN_ROUTE, modes: ["resume"] })).toEqual({ kind: "refuse", code: "auth_failed", field: "token" });
  });

  it("while its token proof runs, a socket may answer its own proof's requests and nothing else", () => {
    const proving = { ...TOKEN_ROUTE, proving: true, sessionRunning: true };
    expect(gate({ type: "token", requestId: "n.2", token: "k" }, proving)).toEqual({ kind: "proof_answer" });
    expect(gate({ type: "token_failed", requestId: "n.2" }, proving)).toEqual({ kind: "proof_answer" });
    expect(gate({ type: "auth", token: "k2" }, proving)).toEqual({ kind: "refuse", code: "auth_pending" });
    expect(gate({ type: "disconnect", clearSavedData: true }, proving)).toEqual({ kind: "refuse", code: "auth_required" });
    expect(gate({ type: "connect", userId: "alice" }, proving)).toEqual({ kind: "refuse", code: "auth_required" });
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

const socket = (id: string, attachedAt: number, proven = false, proving = false): SocketInfo => ({ id, attachedAt, proven, proving, closing: false });

describe("unproven sockets hold nothing", () => {
  it("have a proof deadline: the earliest waiting one arms the alarm; proven sockets and a running prover have none", () => {
    const sockets = [socket("a", 100, true), socket("b", 200), socket("c", 150, false, true), socket("d", 300)];
    expect(nextProofDeadline(sockets)).toBe(200 + PROOF_DEADLINE_MS);
    expect(overdueSockets(sockets, 200 + PROOF_DEADLINE_MS)).toEqual(["b"]);
    expect(overdueSockets(sockets, 10 ** 9)).toEqual(["b", "d"]);
    expect(nextProofDeadline([socket("a", 1, true)])).toBeUndefined();
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
