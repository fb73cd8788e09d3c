/** The tenant API's wake body: small, bounded, and never a carrier for a token or an access link. */
import { describe, expect, it } from "vitest";
import { carriesCredential, parseTenantWake, TENANT_WAKE_LIMITS } from "./wake-tenant";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYWxpY2UifQ.c2lnbmF0dXJl";

describe("parseTenantWake", () => {
  it("keeps a full wake, mapping ttl to ttlSec", () => {
    const body = { event: "chat:message", id: "msg_42", title: "Bob", body: "Lunch?", data: { chatId: "c1" }, ttl: 600, urgency: "high" };
    expect(parseTenantWake(body)).toEqual({ ok: true, value: { event: "chat:message", id: "msg_42", title: "Bob", body: "Lunch?", data: { chatId: "c1" }, ttlSec: 600, urgency: "high" } });
    expect(parseTenantWake({ event: "ping" })).toEqual({ ok: true, value: { event: "ping" } });
  });

  it.each([
    ["no event", {}, "event"],
    ["an event with a space", { event: "chat message" }, "event"],
    ["an event over 64 characters", { event: "e".repeat(65) }, "event"],
    ["an id with a slash", { event: "e", id: "a/b" }, "id"],
    ["a title over 80 characters", { event: "e", title: "t".repeat(TENANT_WAKE_LIMITS.title + 1) }, "title"],
    ["an empty body", { event: "e", body: "" }, "body"],
    ["data that is a list", { event: "e", data: [1] }, "data"],
    ["data over 1,024 bytes", { event: "e", data: { pad: "é".repeat(510) } }, "data"],
    ["a negative ttl", { event: "e", ttl: -1 }, "ttl"],
    ["a ttl over a day", { event: "e", ttl: 86_401 }, "ttl"],
    ["an unknown urgency", { event: "e", urgency: "very-low" }, "urgency"],
    ["an unknown key", { event: "e", accessToken: "x" }, "accessToken"],
    ["a token in the body text", { event: "e", body: `your token ${JWT}` }, "body"],
    ["a token in the data", { event: "e", data: { nested: { t: JWT } } }, "data"],
    ["an access link in the data", { event: "e", data: { url: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/abc" } }, "data"],
    ["an access link in the title", { event: "e", title: "join https://x.example.com/room/conference/abc" }, "title"],
  ])("refuses %s", (_name, body, field) => {
    expect(parseTenantWake(body)).toMatchObject({ ok: false, error: { code: "bad_request", field } });
  });

  it("spots credentials in keys and values at any depth, and not in ordinary text", () => {
    expect(carriesCredential({ [JWT]: 1 })).toBe(true);
    expect(carriesCredential(["a", ["b", JWT]])).toBe(true);
    expect(carriesCredential({ title: "Meet at eyJ's café. Bring.snacks" })).toBe(false);
    expect(carriesCredential({ url: "https://tenant.example.com/chat/c1" })).toBe(false);
  });
});
