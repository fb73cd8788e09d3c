/** An app's wake settings: what an operator may set, and the clear refusals. */
import { describe, expect, it } from "vitest";
import { DEFAULT_WAKE_LIMITS, parseWakeSettings, wakeChannels, wakeLimits } from "./wake-settings";

const full = {
  events: ["call:incoming", "on_call_incoming"],
  webPush: { enabled: true, contact: "mailto:ops@tenant.example.com" },
  webhookUrl: "https://tenant.example.com/wake",
  limits: { burst: 3, refillSec: 60, dedupSec: 900, subscriptionsPerUser: 5 },
};

describe("parseWakeSettings", () => {
  it("keeps a full setting as given", () => {
    expect(parseWakeSettings(full)).toEqual({ ok: true, value: full });
  });

  it("an events list alone is valid (nothing is sent until a channel is on)", () => {
    const parsed = parseWakeSettings({ events: [] });
    expect(parsed).toEqual({ ok: true, value: { events: [] } });
    expect(wakeChannels(parsed.ok ? parsed.value : undefined)).toEqual({ webPush: false, webhook: false });
    expect(wakeChannels(full)).toEqual({ webPush: true, webhook: true });
  });

  it.each([
    ["no events", { webPush: full.webPush }, "wake.events"],
    ["an event with a space", { events: ["call incoming"] }, "wake.events"],
    ["an empty event name", { events: [""] }, "wake.events"],
    ["a repeated event", { events: ["a", "a"] }, "wake.events"],
    ["17 events", { events: [...Array(17)].map((_, i) => `e${i}`) }, "wake.events"],
    ["an unknown key", { events: [], sms: true }, "wake.sms"],
    ["webPush without a contact", { events: [], webPush: { enabled: true } }, "wake.webPush.contact"],
    ["an http contact", { events: [], webPush: { enabled: true, contact: "http://tenant.example.com" } }, "wake.webPush.contact"],
    ["a contact that is no address", { events: [], webPush: { enabled: true, contact: "mailto:ops" } }, "wake.webPush.contact"],
    ["webPush.enabled as text", { events: [], webPush: { enabled: "yes", contact: "mailto:a@b.c" } }, "wake.webPush.enabled"],
    ["an unknown webPush key", { events: [], webPush: { enabled: true, contact: "mailto:a@b.c", vapidPrivateKey: "x" } }, "wake.webPush.vapidPrivateKey"],
    ["a webhook on loopback", { events: [], webhookUrl: "http://127.0.0.1:9000/wake" }, "wake.webhookUrl"],
    ["a webhook to a private address", { events: [], webhookUrl: "https://192.168.1.2/wake" }, "wake.webhookUrl"],
    ["a burst of 0", { events: [], limits: { burst: 0 } }, "wake.limits.burst"],
    ["a fractional refill", { events: [], limits: { refillSec: 1.5 } }, "wake.limits.refillSec"],
    ["a dedup under a minute", { events: [], limits: { dedupSec: 30 } }, "wake.limits.dedupSec"],
    ["21 subscriptions per user", { events: [], limits: { subscriptionsPerUser: 21 } }, "wake.limits.subscriptionsPerUser"],
    ["an unknown limit", { events: [], limits: { perDay: 3 } }, "wake.limits.perDay"],
  ])("refuses %s, naming %s", (_name, input, field) => {
    expect(parseWakeSettings(input)).toMatchObject({ ok: false, error: { code: "bad_request", field } });
  });

  it("allows a loopback webhook only where the deployment allows local webhooks", () => {
    const local = { events: [], webhookUrl: "http://127.0.0.1:9000/wake" };
    expect(parseWakeSettings(local, { allowLocalWebhooks: true }).ok).toBe(true);
  });

  it("fills limits the app did not set from the defaults", () => {
    expect(wakeLimits(undefined)).toEqual(DEFAULT_WAKE_LIMITS);
    expect(wakeLimits({ events: [], limits: { burst: 2 } })).toEqual({ ...DEFAULT_WAKE_LIMITS, burst: 2 });
    expect(DEFAULT_WAKE_LIMITS).toEqual({ burst: 5, refillSec: 20, dedupSec: 600, subscriptionsPerUser: 10 });
  });
});
