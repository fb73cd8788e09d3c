/** The relay's rules (core/relay.ts), one rule per test, with an injected clock. */
import { describe, expect, it } from "vitest";
import { encode } from "./protocol";
import { eventNameVerdict, isReservedEvent, RELAY_LIMITS, RelayBuffer, refusedEmitId } from "./relay";
import { LIFECYCLE_EVENTS } from "./kaleyra-events";

const T0 = 1_000_000;

function filled(n: number, at = T0, buffer = new RelayBuffer()): RelayBuffer {
  for (let i = 0; i < n; i++) buffer.push("e", { i }, at);
  return buffer;
}

const seqs = (events: { seq: number }[]) => events.map((e) => e.seq);

describe("reserved names", () => {
  it("are exactly the session's lifecycle events", () => {
    expect([...LIFECYCLE_EVENTS].sort()).toEqual([
      "switchboard:access_token:expired",
      "switchboard:access_token:is_about_to_expire",
      "switchboard:access_token:update",
      "switchboard:client:deprecated",
      "switchboard:connected",
      "user:force_disconnect",
    ]);
    expect(isReservedEvent("switchboard:access_token:update")).toBe(true);
    expect(isReservedEvent("user:status")).toBe(false);
  });

  it("are reserved in any case: User:Force_Disconnect is user:force_disconnect", () => {
    for (const name of ["User:Force_Disconnect", "SWITCHBOARD:ACCESS_TOKEN:UPDATE", "Switchboard:connected"]) expect(eventNameVerdict(name)).toBe("reserved");
    expect(eventNameVerdict("chat:Typing")).toBe("relay");
  });

  it("a name outside plain ASCII [A-Za-z0-9:_.-] is refused whole: no look-alike can pass for a reserved name", () => {
    const lookAlikes = [
      "user:force_d\u0456sconnect", // Cyrillic i
      "\uff55ser:force_disconnect", // full-width u (NFKC folds it to u)
      "user:force_disconnect\u200b", // zero-width space
      "user\uff1aforce_disconnect", // full-width colon
      "user:force disconnect",
      "",
      "a".repeat(129),
    ];
    for (const name of lookAlikes) expect(eventNameVerdict(name)).toBe("not_plain");
    expect(eventNameVerdict("user:status.changed-v2_1")).toBe("relay");
  });
});

describe("seq", () => {
  it("starts at 1 and grows by 1 per relayed event", () => {
    const buffer = new RelayBuffer();
    expect(buffer.seq).toBe(0);
    const first = buffer.push("a", { x: 1 }, T0);
    const second = buffer.push("b", undefined, T0);
    expect(first).toMatchObject({ relayed: true, frame: { type: "remote_event", seq: 1, name: "a", data: { x: 1 } } });
    expect(second).toMatchObject({ relayed: true, frame: { seq: 2, name: "b", data: null } });
    if (first.relayed) expect(first.text).toBe(encode(first.frame));
  });
});

describe("per-event size", () => {
  it("a frame of at most 15,360 bytes is relayed; one byte more is dropped whole and takes no seq", () => {
    const buffer = new RelayBuffer();
    const overhead = encode({ type: "remote_event", seq: 1, name: "e", data: "" }).length;
    const fits = buffer.push("e", "x".repeat(RELAY_LIMITS.maxEventFrameBytes - overhead), T0);
    expect(fits.relayed).toBe(true);
    const over = buffer.push("e", "x".repeat(RELAY_LIMITS.maxEventFrameBytes - overhead + 1), T0);
    expect(over).toEqual({ relayed: false, bytes: RELAY_LIMITS.maxEventFrameBytes + 1 });
    expect(buffer.seq).toBe(1);
    expect(buffer.push("e", 1, T0)).toMatchObject({ frame: { seq: 2 } });
  });

  it("counts UTF-8 bytes, not characters", () => {
    const buffer = new RelayBuffer();
    const over = buffer.push("e", "é".repeat(RELAY_LIMITS.maxEventFrameBytes / 2), T0);
    expect(over.relayed).toBe(false);
  });
});

describe("since", () => {
  it("serves every event after the client's seq, in order", () => {
    const buffer = filled(5);
    expect(buffer.since(2, T0)).toEqual({ events: buffer.since(0, T0).events.slice(2) });
    expect(seqs(buffer.since(2, T0).events)).toEqual([3, 4, 5]);
    expect(buffer.since(5, T0)).toEqual({ events: [] });
  });

  it("keeps at most 256 events: asking for one pushed out is a gap, then what is held", () => {
    const buffer = filled(300);
    expect(seqs(buffer.since(44, T0).events)).toEqual(Array.from({ length: 256 }, (_, i) => 45 + i));
    expect(buffer.since(44, T0)).not.toHaveProperty("gap");
    const gap = buffer.since(43, T0);
    expect(gap).toMatchObject({ gap: 43 });
    expect(seqs(gap.events)[0]).toBe(45);
  });

  it("keeps at most 256 KiB of frames", () => {
    const buffer = new RelayBuffer();
    const data = "x".repeat(10_000);
    for (let i = 0; i < 40; i++) buffer.push("e", data, T0);
    const held = buffer.since(0, T0);
    expect(held).toHaveProperty("gap", 0);
    const bytes = held.events.reduce((sum, e) => sum + encode(e).length, 0);
    expect(bytes).toBeLessThanOrEqual(RELAY_LIMITS.maxBytes);
    expect(bytes + 10_050).toBeGreaterThan(RELAY_LIMITS.maxBytes); // one more would not fit
    expect(seqs(held.events).at(-1)).toBe(40);
  });

  it("keeps an event 60 s: at 60 s it is served, after that it is a gap", () => {
    const buffer = filled(1, T0);
    buffer.push("late", 1, T0 + 30_000);
    expect(buffer.since(0, T0 + 60_000)).toEqual({ events: [expect.objectContaining({ seq: 1 }), expect.objectContaining({ seq: 2 })] });
    expect(buffer.since(0, T0 + 60_001)).toEqual({ gap: 0, events: [expect.objectContaining({ seq: 2 })] });
    expect(buffer.since(1, T0 + 60_001)).toEqual({ events: [expect.objectContaining({ seq: 2 })] });
    expect(buffer.since(0, T0 + 90_001)).toEqual({ gap: 0, events: [] });
  });

  it("a seq ahead of the buffer means the object restarted: gap, then every held event (a new stream)", () => {
    const buffer = filled(2);
    expect(buffer.since(50, T0)).toEqual({ gap: 50, events: buffer.since(0, T0).events });
    expect(new RelayBuffer().since(7, T0)).toEqual({ gap: 7, events: [] });
  });

  it("nothing relayed yet and nothing seen: no gap", () => {
    expect(new RelayBuffer().since(0, T0)).toEqual({ events: [] });
  });

  it("a stored snapshot restores the stream: the seq goes on and the held events are served (a session that hibernated)", () => {
    const buffer = filled(3);
    const stored = JSON.parse(JSON.stringify(buffer.snapshot(T0)));
    const woken = new RelayBuffer(RELAY_LIMITS, stored);
    expect(woken.seq).toBe(3);
    expect(woken.since(1, T0)).toEqual(buffer.since(1, T0));
    expect(woken.push("next", null, T0).relayed && woken.seq).toBe(4);
    // The snapshot is pruned when taken: what is too old is not stored.
    expect(buffer.snapshot(T0 + RELAY_LIMITS.maxAgeMs + 1).held).toEqual([]);
  });
});

describe("refusedEmitId", () => {
  it("finds the id of a remote_emit that failed validation, so it can be answered", () => {
    expect(refusedEmitId(JSON.stringify({ type: "remote_emit", id: "e9", name: "" }))).toBe("e9");
    expect(refusedEmitId(JSON.stringify({ type: "remote_emit", id: "x".repeat(65) }))).toBeUndefined();
    expect(refusedEmitId(JSON.stringify({ type: "token", id: "e9" }))).toBeUndefined();
    expect(refusedEmitId("not json")).toBeUndefined();
    expect(refusedEmitId("null")).toBeUndefined();
  });
});
