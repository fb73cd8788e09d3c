/** Closed sockets whose peer has not answered (core/closing-sockets.ts), with an injected clock. */
import { describe, expect, it } from "vitest";
import type { SocketInfo } from "./socket-info";
import { admit, MAX_UNPROVEN_SOCKETS } from "./attach";
import { CLOSE_DEADLINE_MS, closeDeadline, dropClosingSockets, MAX_CLOSING_SOCKETS, sessionQuiet } from "./closing-sockets";
import { initialState } from "./session";

const open = (id: string, proven = false): SocketInfo => ({ id, attachedAt: 0, proven, proving: false, closing: false });
const closing = (id: string, closedAt: number, proven = false): SocketInfo => ({ id, attachedAt: 0, proven, proving: false, closing: true, closedAt });

describe("closing sockets", () => {
  it("count against the session: at MAX_CLOSING_SOCKETS the next upgrade is refused; they are neither waiting nor clients", () => {
    const full = Array.from({ length: MAX_CLOSING_SOCKETS }, (_, i) => closing(`c${i}`, 0));
    expect(admit(full)).toEqual({ refuse: true, reason: "closing" });
    expect(admit(full.slice(1))).toEqual({ refuse: false });
    // Closed sockets are not waiting ones: they push nobody out of the queue.
    const waiting = Array.from({ length: MAX_UNPROVEN_SOCKETS - 1 }, (_, i) => open(`w${i}`));
    expect(admit([...waiting, ...full.slice(1)])).toEqual({ refuse: false });
  });

  it("are dropped CLOSE_DEADLINE_MS after the oldest close, only when every socket is closing and the session is quiet", () => {
    const two = [closing("a", 1_000), closing("b", 4_000)];
    expect(closeDeadline(two, true)).toBe(1_000 + CLOSE_DEADLINE_MS);
    expect(dropClosingSockets(two, true, 1_000 + CLOSE_DEADLINE_MS - 1)).toBe(false);
    expect(dropClosingSockets(two, true, 1_000 + CLOSE_DEADLINE_MS)).toBe(true);
    expect(closeDeadline([...two, open("client", true)], true)).toBeUndefined();
    expect(closeDeadline(two, false)).toBeUndefined();
    expect(closeDeadline([], true)).toBeUndefined();
  });

  it("a quiet session is one whose restart loses nothing: disconnected, no proof, no remote call", () => {
    expect(sessionQuiet(initialState())).toBe(true);
    expect(sessionQuiet({ ...initialState(), status: "connected" })).toBe(false);
    expect(sessionQuiet({ ...initialState(), status: "reconnecting" })).toBe(false);
  });
});
