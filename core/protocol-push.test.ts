/** The push frames on a client's socket: what a client may send, and what it is answered. */
import { describe, expect, it } from "vitest";
import { isPushFrameType, parsePushFrame, pushInvalid, pushRefused } from "./protocol-push";

const subscription = {
  endpoint: "https://fcm.googleapis.com/fcm/send/abc",
  expirationTime: null,
  keys: { p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "BTBZMqHH6r4Tts7J_aSIgg" },
};

const applicationServerKey = `B${"A".repeat(86)}`;

describe("push frames", () => {
  it("knows its two types", () => {
    expect(["push_subscribe", "push_unsubscribe", "connect", 1].map(isPushFrameType)).toEqual([true, true, false, false]);
  });

  it("parses push_subscribe with a checked subscription, and push_unsubscribe with an endpoint", () => {
    expect(parsePushFrame({ type: "push_subscribe", subscription, applicationServerKey })).toEqual({ ok: true, value: { type: "push_subscribe", subscription, applicationServerKey } });
    expect(parsePushFrame({ type: "push_unsubscribe", endpoint: subscription.endpoint })).toEqual({ ok: true, value: { type: "push_unsubscribe", endpoint: subscription.endpoint } });
  });

  it.each([
    [{ type: "push_subscribe" }, "subscription"],
    [{ type: "push_subscribe", subscription, applicationServerKey, extra: 1 }, "extra"],
    [{ type: "push_subscribe", subscription }, "applicationServerKey"],
    [{ type: "push_subscribe", subscription, applicationServerKey: "BAAA" }, "applicationServerKey"],
    [{ type: "push_subscribe", subscription: { ...subscription, endpoint: "https://127.0.0.1/p" } }, "subscription.endpoint"],
    [{ type: "push_subscribe", subscription: { ...subscription, keys: { ...subscription.keys, auth: "x" } } }, "subscription.keys.auth"],
    [{ type: "push_unsubscribe" }, "endpoint"],
    [{ type: "push_unsubscribe", endpoint: "" }, "endpoint"],
    [{ type: "push_unsubscribe", endpoint: "e".repeat(2_049) }, "endpoint"],
    [{ type: "push_unsubscribe", endpoint: "x", subscription }, "subscription"],
    [{ type: "connect" }, "type"],
  ])("refuses %j as invalid_frame naming %s", (frame, field) => {
    expect(parsePushFrame(frame as Record<string, unknown>)).toMatchObject({ ok: false, error: { code: "invalid_frame", field } });
  });

  it("takes a loopback endpoint only where the deployment allows local addresses", () => {
    const local = { type: "push_subscribe", subscription: { ...subscription, endpoint: "http://127.0.0.1:8787/push/s1" }, applicationServerKey };
    expect(parsePushFrame(local).ok).toBe(false);
    expect(parsePushFrame(local, { allowLocal: true }).ok).toBe(true);
  });

  it("a refusal carries a stable code and a sentence that says what to do", () => {
    expect(pushRefused("push_disabled", "https://p.example.com/x")).toEqual({
      type: "push_refused",
      endpoint: "https://p.example.com/x",
      code: "push_disabled",
      message: expect.stringContaining("operator"),
    });
    expect(pushRefused("push_unavailable")).not.toHaveProperty("endpoint");
  });

  it("answers a refused frame with push_refused naming the field and the endpoint it could read, never an error frame", () => {
    const frame = { type: "push_subscribe", subscription: { ...subscription, keys: { p256dh: "x", auth: "y" } } };
    const parsed = parsePushFrame(frame);
    expect(parsed.ok).toBe(false);
    expect(pushInvalid(frame, parsed.ok ? undefined : parsed.error.field)).toEqual({
      type: "push_refused",
      endpoint: subscription.endpoint,
      code: "push_invalid",
      message: expect.any(String),
      field: "subscription.keys.p256dh",
    });
    expect(pushInvalid({ type: "push_unsubscribe", endpoint: 5 }, "endpoint")).not.toHaveProperty("endpoint");
  });
});
