import { describe, expect, it } from "vitest";
import { ReportOutbox } from "./connector-outbox";

const T = 1_000_000;

describe("the connector's reports: one call in flight per session, in order, batched", () => {
  it("what arrives while a call is in flight goes in the next call, in order", () => {
    const box = new ReportOutbox<string>();
    expect(box.push("s1", "a")).toBe(true);
    expect(box.take("s1", T)).toEqual(["a"]);
    expect(box.push("s1", "b")).toBe(false);
    expect(box.push("s1", "c")).toBe(false);
    expect(box.take("s1", T)).toBeUndefined();
    box.delivered("s1");
    expect(box.take("s1", T)).toEqual(["b", "c"]);
    box.delivered("s1");
    expect(box.take("s1", T)).toBeUndefined();
    expect(box.stats).toMatchObject({ pushed: 3, delivered: 3, batches: 2 });
  });

  it("sessions do not wait for each other", () => {
    const box = new ReportOutbox<string>();
    box.push("s1", "a");
    box.push("s2", "x");
    expect(box.take("s1", T)).toEqual(["a"]);
    expect(box.take("s2", T)).toEqual(["x"]);
  });

  it("a batch holds at most maxBatch reports", () => {
    const box = new ReportOutbox<number>({ maxBatch: 2, maxQueue: 10, retryDelaysMs: [] });
    for (let i = 0; i < 5; i++) box.push("s", i);
    expect(box.take("s", T)).toEqual([0, 1]);
    box.delivered("s");
    expect(box.take("s", T)).toEqual([2, 3]);
  });

  it("coalesces a repeated lifecycle report that is not sent yet", () => {
    const box = new ReportOutbox<string>();
    box.push("s", "expiring-1", { coalesce: "c1:expiring" });
    box.take("s", T);
    box.push("s", "event");
    box.push("s", "expiring-2", { coalesce: "c1:expiring" });
    box.push("s", "expiring-3", { coalesce: "c1:expiring" });
    box.delivered("s");
    expect(box.take("s", T)).toEqual(["event", "expiring-3"]);
    expect(box.stats.coalesced).toBe(1);
  });

  it("bounded: past maxQueue the oldest relayed event goes first, lifecycle reports stay", () => {
    const box = new ReportOutbox<string>({ maxBatch: 64, maxQueue: 3, retryDelaysMs: [] });
    box.push("s", "lost");
    box.push("s", "e1", { droppable: true });
    box.push("s", "e2", { droppable: true });
    box.push("s", "e3", { droppable: true });
    expect(box.take("s", T)).toEqual(["lost", "e2", "e3"]);
    expect(box.stats.dropped).toBe(1);
  });

  it("a failed call is retried whole, before anything newer, after each retry delay; then dropped", () => {
    const box = new ReportOutbox<string>({ maxBatch: 64, maxQueue: 10, retryDelaysMs: [1_000, 5_000] });
    box.push("s", "a");
    box.take("s", T);
    box.push("s", "b");
    expect(box.failed("s", T)).toBe("retry");
    expect(box.nextRetryAt()).toBe(T + 1_000);
    expect(box.ready(T + 999)).toEqual([]);
    expect(box.take("s", T + 999)).toBeUndefined();
    expect(box.ready(T + 1_000)).toEqual(["s"]);
    expect(box.take("s", T + 1_000)).toEqual(["a"]);
    expect(box.failed("s", T + 1_000)).toBe("retry");
    expect(box.take("s", T + 6_000)).toEqual(["a"]);
    expect(box.failed("s", T + 6_000)).toBe("dropped");
    expect(box.take("s", T + 6_000)).toEqual(["b"]);
    expect(box.stats).toMatchObject({ retries: 2, dropped: 1 });
  });
});
