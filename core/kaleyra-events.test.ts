import { describe, expect, it } from "vitest";
import { EVENT_FORCE_DISCONNECT, EVENT_TOKEN_ABOUT_TO_EXPIRE, EVENT_TOKEN_EXPIRED, LIFECYCLE_EVENTS, SESSION_EVENT_OF, sessionEventOf } from "./kaleyra-events";

describe("Kaleyra events the session reacts to", () => {
  it("each is the session event of the same meaning", () => {
    expect(sessionEventOf(EVENT_TOKEN_ABOUT_TO_EXPIRE)).toEqual({ type: "remote_token_expiring" });
    expect(sessionEventOf(EVENT_TOKEN_EXPIRED)).toEqual({ type: "remote_token_expired" });
    expect(sessionEventOf(EVENT_FORCE_DISCONNECT)).toEqual({ type: "user_deactivated" });
  });

  it("any other event is the relay's, whatever its name (no prototype key passes)", () => {
    for (const name of ["user:status", "call:ring", "toString", "__proto__", "constructor"]) expect(sessionEventOf(name)).toBeUndefined();
  });

  it("is a lifecycle event: never relayed, never emitted by a client", () => {
    for (const name of Object.keys(SESSION_EVENT_OF)) expect(LIFECYCLE_EVENTS).toContain(name);
  });
});
