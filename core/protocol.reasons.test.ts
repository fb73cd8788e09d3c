import { describe, expect, it } from "vitest";
import { errorFrame, parseClientFrame } from "./protocol";

/** The refusal of a frame, as the error frame the socket sends. */
function answer(raw: string | ArrayBuffer) {
  const parsed = parseClientFrame(raw);
  if (parsed.ok) throw new Error("the frame was accepted");
  return errorFrame(parsed.error);
}

describe("a refused frame says what is wrong: message, field and details", () => {
  it.each([
    [{ type: "auth", tokn: "x" }, "tokn", "is not a field of the auth frame (its fields: type, resume, ticket, token, askToken, since)"],
    [{ type: "auth", token: "has space" }, "token", "must be 1..8192 characters without whitespace"],
    [{ type: "auth", token: "t", resume: "r" }, "resume|ticket|token|askToken", "must be exactly one: the proof is a resume credential, a ticket, a token, or askToken"],
    [{ type: "auth", askToken: "yes" }, "askToken", "must be true: the session then asks this socket for its token"],
    [{ type: "auth", token: "t", since: -1 }, "since", "must be an integer >= 0 (the last relayed seq this client saw)"],
    [{ type: "connect", userId: "a b" }, "userId", "must be 1..128 of A-Z a-z 0-9 _ . @ + -"],
    [{ type: "connect", accessLink: "http://x" }, "accessLink", "must be a Kaleyra access link: an https URL of at most 2048 characters"],
    [{ type: "token", requestId: "", token: "t" }, "requestId", "must be a string of 1..64 characters"],
    [{ type: "disconnect", clearSavedData: "yes" }, "clearSavedData", "must be true or false"],
    [{ type: "remote_emit", id: "1", name: "" }, "name", "must be a string of 1..128 characters"],
    [[1], "frame", "must be a JSON object"],
  ])("%j: %s %s", (frame, field, reason) => {
    expect(answer(JSON.stringify(frame))).toEqual({ type: "error", code: "invalid_frame", message: `The frame is invalid: ${field} ${reason}.`, field, details: [{ field, reason }] });
  });

  it("an unknown type lists the frame types", () => {
    expect(answer('{"type":"hello"}')).toMatchObject({ code: "unknown_type", message: "The frame type is unknown: type must be one of auth, connect, token, token_failed, disconnect, remote_emit." });
  });

  it("a binary frame is told to send text; invalid JSON says so", () => {
    expect(answer(new ArrayBuffer(4))).toMatchObject({ code: "invalid_frame", field: "binary", details: [{ field: "binary", reason: "frames are not part of the protocol: send JSON text frames" }] });
    expect(answer("{nope")).toEqual({ type: "error", code: "malformed_json", message: "The frame is not valid JSON." });
  });
});
