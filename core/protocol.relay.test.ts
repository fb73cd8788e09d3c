/** The relay's client frames (docs/protocol.md "Relay"): strict like every other frame. */
import { describe, expect, it } from "vitest";
import { parseClientFrame, type ClientFrame } from "./protocol";

const parse = (frame: unknown) => parseClientFrame(JSON.stringify(frame));
const accepted = (frame: unknown, expected: ClientFrame) => expect(parse(frame)).toEqual({ ok: true, value: expected });
const invalid = (frame: unknown, field: string) => expect(parse(frame)).toMatchObject({ ok: false, error: { code: "invalid_frame", field } });

describe("remote_emit", () => {
  it("carries an id, a name and any JSON data; data may be left out", () => {
    accepted({ type: "remote_emit", id: "e1", name: "chat:message", data: { text: "hi", n: [1, 2] } }, { type: "remote_emit", id: "e1", name: "chat:message", data: { text: "hi", n: [1, 2] } });
    accepted({ type: "remote_emit", id: "e1", name: "ping", data: null }, { type: "remote_emit", id: "e1", name: "ping", data: null });
    accepted({ type: "remote_emit", id: "e1", name: "ping" }, { type: "remote_emit", id: "e1", name: "ping" });
  });

  it("id is 1..64 characters", () => {
    accepted({ type: "remote_emit", id: "x".repeat(64), name: "n" }, { type: "remote_emit", id: "x".repeat(64), name: "n" });
    invalid({ type: "remote_emit", id: "x".repeat(65), name: "n" }, "id");
    invalid({ type: "remote_emit", id: "", name: "n" }, "id");
    invalid({ type: "remote_emit", id: 7, name: "n" }, "id");
    invalid({ type: "remote_emit", name: "n" }, "id");
  });

  it("name is 1..128 characters", () => {
    accepted({ type: "remote_emit", id: "a", name: "n".repeat(128) }, { type: "remote_emit", id: "a", name: "n".repeat(128) });
    invalid({ type: "remote_emit", id: "a", name: "n".repeat(129) }, "name");
    invalid({ type: "remote_emit", id: "a", name: "" }, "name");
    invalid({ type: "remote_emit", id: "a", name: ["n"] }, "name");
    invalid({ type: "remote_emit", id: "a" }, "name");
  });

  it("extra keys are refused", () => {
    invalid({ type: "remote_emit", id: "a", name: "n", args: [] }, "args");
  });
});

describe("auth with since", () => {
  it("any proof may carry since, an integer >= 0", () => {
    accepted({ type: "auth", resume: "cred", since: 12 }, { type: "auth", resume: "cred", since: 12 });
    accepted({ type: "auth", resume: "cred", since: 0 }, { type: "auth", resume: "cred", since: 0 });
    accepted({ type: "auth", ticket: "t", since: 3 }, { type: "auth", ticket: "t", since: 3 });
    accepted({ type: "auth", token: "tok", since: 3 }, { type: "auth", token: "tok", since: 3 });
    accepted({ type: "auth", resume: "cred" }, { type: "auth", resume: "cred" });
  });

  it("since that is negative, fractional, not a number or unsafe is refused", () => {
    for (const since of [-1, 1.5, "3", null, 2 ** 53]) invalid({ type: "auth", resume: "cred", since }, "since");
  });

  it("since alone is no proof", () => {
    invalid({ type: "auth", since: 3 }, "resume|ticket|token|askToken");
  });
});
