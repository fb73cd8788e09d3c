import { describe, expect, it } from "vitest";
import { HandshakeGate } from "./connector-gate";

const T = 1_000_000;

describe("the handshake gate: a few upgrades at a time, the rest queued in order", () => {
  it("lets maxActive through, queues the next in order, and hands a freed slot to the oldest", async () => {
    const gate = new HandshakeGate(2, 10);
    const answers: string[] = [];
    const enter = (name: string) => gate.enter(T + 10_000, T).then((a) => answers.push(`${name}:${a}`));
    const all = [enter("a"), enter("b"), enter("c"), enter("d")];
    await Promise.resolve();
    expect(answers).toEqual(["a:go", "b:go"]);
    expect(gate).toMatchObject({ active: 2, queued: 2 });
    gate.leave(T);
    await Promise.resolve();
    expect(answers).toEqual(["a:go", "b:go", "c:go"]);
    gate.leave(T);
    gate.leave(T);
    await Promise.all(all);
    expect(answers).toEqual(["a:go", "b:go", "c:go", "d:go"]);
    expect(gate.active).toBe(1);
  });

  it("answers busy at once when the queue is full (bounded: nothing waits beyond maxQueued)", async () => {
    const gate = new HandshakeGate(1, 2);
    void gate.enter(T + 10_000, T);
    void gate.enter(T + 10_000, T);
    void gate.enter(T + 10_000, T);
    expect(await gate.enter(T + 10_000, T)).toBe("busy");
    expect(gate).toMatchObject({ active: 1, queued: 2, peakQueued: 2 });
  });

  it("a waiter whose deadline passed is answered expired (by the owner's alarm) and never takes a slot", async () => {
    const gate = new HandshakeGate(1, 10);
    void gate.enter(T + 10_000, T);
    const late = gate.enter(T + 1_000, T);
    const later = gate.enter(T + 5_000, T);
    expect(gate.nextDeadline()).toBe(T + 1_000);
    gate.expire(T + 999);
    gate.expire(T + 1_000);
    expect(await late).toBe("expired");
    gate.leave(T + 2_000);
    expect(await later).toBe("go");
    expect(await gate.enter(T, T)).toBe("expired");
  });
});
