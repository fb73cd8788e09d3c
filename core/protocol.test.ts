import { describe, expect, it } from "vitest";
import { ERROR_MESSAGES } from "./errors";
import {
  encode,
  errorFrame,
  isAccessLink,
  isUserId,
  MAX_FRAME_BYTES,
  MAX_TOKEN_LENGTH,
  parseClientFrame,
  type ClientFrame,
} from "./protocol";
import { LINK } from "./testing";


function accepted(raw: string | ArrayBuffer, expected: ClientFrame): void {
  expect(parseClientFrame(raw)).toEqual({ ok: true, value: expected });
}

function refused(raw: string | ArrayBuffer, code: string, field?: string): void {
  const r = parseClientFrame(raw);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  expect(r.error.field).toBe(field);
}

const invalidFrame = (frame: unknown, field: string) => refused(JSON.stringify(frame), "invalid_frame", field);

describe("connect frame", () => {
  it("with a userId is valid", () => {
    accepted(JSON.stringify({ type: "connect", userId: "alice.b_1@x+y-z" }), { type: "connect", userId: "alice.b_1@x+y-z" });
  });

  it("with an access link is valid", () => {
    accepted(JSON.stringify({ type: "connect", accessLink: LINK }), { type: "connect", accessLink: LINK });
  });

  it("with both userId and accessLink, or neither, is invalid", () => {
    invalidFrame({ type: "connect", userId: "alice", accessLink: LINK }, "userId|accessLink");
    invalidFrame({ type: "connect" }, "userId|accessLink");
  });

  it("with a bad userId is invalid", () => {
    invalidFrame({ type: "connect", userId: 42 }, "userId");
    invalidFrame({ type: "connect", userId: "" }, "userId");
    invalidFrame({ type: "connect", userId: "al ice" }, "userId");
    invalidFrame({ type: "connect", userId: "alice/../bob" }, "userId");
    invalidFrame({ type: "connect", userId: "a".repeat(129) }, "userId");
    invalidFrame({ type: "connect", userId: null }, "userId");
  });

  it("with a bad access link is invalid", () => {
    invalidFrame({ type: "connect", accessLink: "not a url" }, "accessLink");
    invalidFrame({ type: "connect", accessLink: "javascript:alert(1)" }, "accessLink");
    invalidFrame({ type: "connect", accessLink: 7 }, "accessLink");
    invalidFrame({ type: "connect", accessLink: `https://x.example/${"a".repeat(2_048)}` }, "accessLink");
  });

  it("with an extra key is invalid, naming the key", () => {
    invalidFrame({ type: "connect", userId: "alice", token: "t" }, "token");
  });
});

describe("token frame", () => {
  it("is valid with a requestId and a token", () => {
    accepted(JSON.stringify({ type: "token", requestId: "abc.1", token: "eyJ.x.y" }), { type: "token", requestId: "abc.1", token: "eyJ.x.y" });
  });

  it("accepts a token of exactly the maximum length", () => {
    const token = "t".repeat(MAX_TOKEN_LENGTH);
    accepted(JSON.stringify({ type: "token", requestId: "r", token }), { type: "token", requestId: "r", token });
  });

  it("refuses a token with whitespace, empty, too long, or not a string", () => {
    invalidFrame({ type: "token", requestId: "r", token: "eyJ x" }, "token");
    invalidFrame({ type: "token", requestId: "r", token: "eyJ\n" }, "token");
    invalidFrame({ type: "token", requestId: "r", token: "" }, "token");
    invalidFrame({ type: "token", requestId: "r", token: "t".repeat(MAX_TOKEN_LENGTH + 1) }, "token");
    invalidFrame({ type: "token", requestId: "r", token: 1 }, "token");
    invalidFrame({ type: "token", requestId: "r" }, "token");
  });

  it("refuses a missing, empty, too long or non-string requestId", () => {
    invalidFrame({ type: "token", token: "t" }, "requestId");
    invalidFrame({ type: "token", requestId: "", token: "t" }, "requestId");
    invalidFrame({ type: "token", requestId: "r".repeat(65), token: "t" }, "requestId");
    invalidFrame({ type: "token", requestId: 1, token: "t" }, "requestId");
    accepted(JSON.stringify({ type: "token", requestId: "r".repeat(64), token: "t" }), { type: "token", requestId: "r".repeat(64), token: "t" });
  });

  it("refuses an extra key", () => {
    invalidFrame({ type: "token", requestId: "r", token: "t", userId: "alice" }, "userId");
  });
});

describe("token_failed frame", () => {
  it("is valid with or without a reason", () => {
    accepted(JSON.stringify({ type: "token_failed", requestId: "r" }), { type: "token_failed", requestId: "r" });
    accepted(JSON.stringify({ type: "token_failed", requestId: "r", reason: "offline" }), {
      type: "token_failed",
      requestId: "r",
      reason: "offline",
    });
  });

  it("refuses a bad requestId, a bad reason, or an extra key", () => {
    invalidFrame({ type: "token_failed" }, "requestId");
    invalidFrame({ type: "token_failed", requestId: "r", reason: 5 }, "reason");
    invalidFrame({ type: "token_failed", requestId: "r", reason: "x".repeat(257) }, "reason");
    invalidFrame({ type: "token_failed", requestId: "r", token: "t" }, "token");
  });
});

describe("disconnect frame", () => {
  it("defaults clearSavedData to false", () => {
    accepted(JSON.stringify({ type: "disconnect" }), { type: "disconnect", clearSavedData: false });
  });

  it("carries clearSavedData", () => {
    accepted(JSON.stringify({ type: "disconnect", clearSavedData: true }), { type: "disconnect", clearSavedData: true });
    accepted(JSON.stringify({ type: "disconnect", clearSavedData: false }), { type: "disconnect", clearSavedData: false });
  });

  it("refuses a non-boolean clearSavedData or an extra key", () => {
    invalidFrame({ type: "disconnect", clearSavedData: "true" }, "clearSavedData");
    invalidFrame({ type: "disconnect", clearSavedData: 1 }, "clearSavedData");
    invalidFrame({ type: "disconnect", reset: true }, "reset");
  });
});

describe("any frame", () => {
  it("that is not JSON is malformed_json", () => {
    refused("{", "malformed_json");
    refused("", "malformed_json");
    refused("{type: 'connect'}", "malformed_json");
  });

  it("that is JSON but not an object is invalid_frame", () => {
    refused("[]", "invalid_frame", "frame");
    refused("null", "invalid_frame", "frame");
    refused("42", "invalid_frame", "frame");
    refused('"connect"', "invalid_frame", "frame");
  });

  it("without a string type is invalid_frame on type", () => {
    invalidFrame({ userId: "alice" }, "type");
    invalidFrame({ type: 1 }, "type");
  });

  it("with an unknown type is unknown_type", () => {
    refused(JSON.stringify({ type: "reconnect" }), "unknown_type", "type");
    refused(JSON.stringify({ type: "state" }), "unknown_type", "type");
  });

  it("that is binary is invalid_frame", () => {
    refused(new TextEncoder().encode(JSON.stringify({ type: "disconnect" })).buffer as ArrayBuffer, "invalid_frame", "binary");
  });

  it(`of exactly ${MAX_FRAME_BYTES} bytes passes the size check; one byte more is frame_too_large`, () => {
    const base = JSON.stringify({ type: "token_failed", requestId: "r", reason: "" });
    const fits = base.replace('""', `"${"x".repeat(MAX_FRAME_BYTES - base.length)}"`);
    expect(fits.length).toBe(MAX_FRAME_BYTES);
    // The reason is too long for the frame type, but the size check comes first.
    refused(fits, "invalid_frame", "reason");
    refused(`${fits} `, "frame_too_large");
  });

  it("over the limit in UTF-8 bytes but short in characters is frame_too_large", () => {
    const raw = JSON.stringify({ type: "token_failed", requestId: "r", reason: "€".repeat(6_000) });
    expect(raw.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(new TextEncoder().encode(raw).length).toBeGreaterThan(MAX_FRAME_BYTES);
    refused(raw, "frame_too_large");
  });

  it("of a valid frame padded with whitespace up to the limit is accepted", () => {
    const frame = JSON.stringify({ type: "disconnect" });
    const raw = frame + " ".repeat(MAX_FRAME_BYTES - frame.length);
    accepted(raw, { type: "disconnect", clearSavedData: false });
    refused(`${raw} `, "frame_too_large");
  });

  it("with multi-byte text within the byte limit is accepted", () => {
    const frame = JSON.stringify({ type: "token_failed", requestId: "r", reason: "€".repeat(256) });
    accepted(frame, { type: "token_failed", requestId: "r", reason: "€".repeat(256) });
  });

  it("never throws on odd input", () => {
    for (const raw of ["\u0000", "{\"type\":\"connect\",\"userId\":{}}", '{"__proto__":{"x":1},"type":"disconnect"}', "1e999"]) {
      expect(() => parseClientFrame(raw)).not.toThrow();
    }
  });
});

describe("isUserId and isAccessLink", () => {
  it("isUserId accepts letters, digits and _ . @ + -, 1 to 128 characters", () => {
    expect(isUserId("a")).toBe(true);
    expect(isUserId("A-z_0.9@x+y")).toBe(true);
    expect(isUserId("u".repeat(128))).toBe(true);
    expect(isUserId("u".repeat(129))).toBe(false);
    expect(isUserId("")).toBe(false);
    expect(isUserId("é")).toBe(false);
    expect(isUserId("a#b")).toBe(false);
    expect(isUserId(1)).toBe(false);
  });

  it("isAccessLink accepts an https URL of Kaleyra's shape and refuses other schemes and non-URLs", () => {
    expect(isAccessLink(LINK)).toBe(true);
    expect(isAccessLink("ftp://sandbox.bandyer.com/x")).toBe(false);
    expect(isAccessLink("data:text/plain,hi")).toBe(false);
    expect(isAccessLink("/eu/direct-rest-call-handler/x")).toBe(false);
    expect(isAccessLink(undefined)).toBe(false);
  });
});

describe("server frames", () => {
  it("errorFrame carries the stable code, its sentence, and the request id and field when given", () => {
    expect(errorFrame("token_request_stale", { requestId: "n.3" })).toEqual({
      type: "error",
      code: "token_request_stale",
      message: ERROR_MESSAGES.token_request_stale,
      requestId: "n.3",
    });
    expect(errorFrame("invalid_frame", { field: "token" })).toEqual({
      type: "error",
      code: "invalid_frame",
      message: `${ERROR_MESSAGES.invalid_frame} (field: token)`,
      field: "token",
    });
    expect(errorFrame("session_conflict")).toEqual({ type: "error", code: "session_conflict", message: ERROR_MESSAGES.session_conflict });
  });

  it("encode is JSON that round-trips", () => {
    const frame = { type: "token_request", requestId: "n.1", userId: "alice", attempt: 2, expiresAt: 5 } as const;
    expect(JSON.parse(encode(frame))).toEqual(frame);
  });
});
