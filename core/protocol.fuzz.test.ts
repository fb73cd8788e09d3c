/**
 * Property-based fuzzing of every client frame type (fast-check): whatever arrives, parsing never
 * throws, refuses with a known code, and accepts only frames whose every field is valid.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ERROR_MESSAGES } from "./errors";
import { isAccessLink, isUserId, MAX_FRAME_BYTES, parseClientFrame, type ClientFrame } from "./protocol";

const CODES = new Set(Object.keys(ERROR_MESSAGES));
const TYPES = ["auth", "connect", "token", "token_failed", "disconnect", "remote_emit", "launch", ""];
const FIELDS = ["type", "userId", "accessLink", "requestId", "token", "reason", "clearSavedData", "resume", "ticket", "since", "id", "name", "data", "extra"];

/** Values of every JSON kind, including ones that are almost right (long, empty, whitespace). */
const value = fc.oneof(
  fc.string(),
  fc.string({ minLength: 100, maxLength: 9_000 }),
  fc.constantFrom("alice", "", " ", "a b", "https://sandbox.bandyer.com/eu/direct-rest-call-handler/x", "http://x", "fake:alice:1"),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Objects shaped like frames: a type (known or not) and a random subset of known and unknown fields. */
const frameLike = fc.record(
  { type: fc.constantFrom(...TYPES), fields: fc.dictionary(fc.constantFrom(...FIELDS.slice(1)), value, { maxKeys: 4 }) },
).map(({ type, fields }) => ({ ...fields, type }));

function checkAccepted(frame: ClientFrame): void {
  switch (frame.type) {
    case "auth":
      if ("askToken" in frame) expect(frame.askToken).toBe(true);
      else expect("resume" in frame ? frame.resume : "ticket" in frame ? frame.ticket : frame.token).toEqual(expect.any(String));
      return;
    case "connect":
      if ("userId" in frame) expect(isUserId(frame.userId)).toBe(true);
      else expect(isAccessLink(frame.accessLink)).toBe(true);
      return;
    case "token":
      expect(frame.token.length).toBeGreaterThan(0);
      expect(/\s/.test(frame.token)).toBe(false);
      return;
    case "token_failed":
      expect(frame.requestId.length).toBeGreaterThan(0);
      return;
    case "disconnect":
      expect(typeof frame.clearSavedData).toBe("boolean");
      return;
    case "remote_emit":
      expect(frame.id.length).toBeGreaterThan(0);
      expect(frame.id.length).toBeLessThanOrEqual(64);
      expect(frame.name.length).toBeGreaterThan(0);
      expect(frame.name.length).toBeLessThanOrEqual(128);
  }
}

function property(raw: string): void {
  const result = parseClientFrame(raw);
  if (result.ok) {
    expect(new TextEncoder().encode(raw).length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    checkAccepted(result.value);
    // The accepted frame has exactly the sent keys (disconnect may add its clearSavedData default).
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    for (const key of Object.keys(parsed)) expect(key in result.value).toBe(true);
    for (const key of Object.keys(result.value)) if (!(key in parsed)) expect(key).toBe("clearSavedData");
  } else {
    expect(CODES.has(result.error.code)).toBe(true);
  }
}

describe("parseClientFrame under fuzzing", () => {
  it("arbitrary strings: never throws, refuses with a known code (4,000 cases)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), property), { numRuns: 4_000 });
  });

  it("arbitrary JSON values (4,000 cases)", () => {
    fc.assert(fc.property(fc.json(), property), { numRuns: 4_000 });
  });

  it("frame-shaped objects with random fields, for every frame type (6,000 cases)", () => {
    fc.assert(fc.property(frameLike, (o) => property(JSON.stringify(o))), { numRuns: 6_000 });
  });

  it("binary frames are always refused", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = parseClientFrame(bytes.buffer as ArrayBuffer);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
