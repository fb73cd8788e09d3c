import { describe, expect, it } from "vitest";
import { isAppId, isEnvironment, isRegion, parseAppPut, parseAppSettings, requiredSecretMissing, type AppSettings } from "./app";
import { DEFAULT_RETRY_POLICY } from "./policy";

function refused(input: unknown, field: string): void {
  const r = parseAppSettings(input);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe("bad_request");
  expect(r.error.field).toBe(field);
}

describe("isAppId", () => {
  it("accepts Kaleyra app ids: mAppId_ then 1 to 64 of letters, digits, _ and -", () => {
    expect(isAppId("mAppId_abc123")).toBe(true);
    expect(isAppId("mAppId_a")).toBe(true);
    expect(isAppId("mAppId_A-b_C")).toBe(true);
    expect(isAppId(`mAppId_${"x".repeat(64)}`)).toBe(true);
  });

  it("refuses anything else", () => {
    expect(isAppId("mAppId_")).toBe(false);
    expect(isAppId(`mAppId_${"x".repeat(65)}`)).toBe(false);
    expect(isAppId("mappid_abc")).toBe(false);
    expect(isAppId("appId_abc")).toBe(false);
    expect(isAppId("xmAppId_abc")).toBe(false);
    expect(isAppId("mAppId_abc/def")).toBe(false);
    expect(isAppId("mAppId_abc def")).toBe(false);
    expect(isAppId("mAppId_abc\n")).toBe(false);
    expect(isAppId(undefined)).toBe(false);
    expect(isAppId(42)).toBe(false);
  });
});

describe("isEnvironment and isRegion", () => {
  it("know the SDK's values only", () => {
    expect(["production", "sandbox", "Production", "staging", ""].map(isEnvironment)).toEqual([true, true, false, false, false]);
    expect(["eu", "in", "us", "EU", "ap", ""].map(isRegion)).toEqual([true, true, true, false, false, false]);
  });
});

describe("parseAppSettings", () => {
  it("accepts environment and region, with no retry policy (the seed's defaults)", () => {
    expect(parseAppSettings({ environment: "sandbox", region: "eu" })).toEqual({ ok: true, value: { environment: "sandbox", region: "eu" } });
    expect(parseAppSettings({ environment: "production", region: "us" })).toEqual({
      ok: true,
      value: { environment: "production", region: "us" },
    });
  });

  it("merges a partial retry policy over the defaults", () => {
    expect(parseAppSettings({ environment: "sandbox", region: "in", retryPolicy: { jitterMaxMs: 0 } })).toEqual({
      ok: true,
      value: { environment: "sandbox", region: "in", retryPolicy: { ...DEFAULT_RETRY_POLICY, jitterMaxMs: 0 } },
    });
  });

  it("refuses a body that is not an object", () => {
    refused(null, "body");
    refused([], "body");
    refused("sandbox", "body");
    refused(undefined, "body");
  });

  it("refuses unknown keys", () => {
    refused({ environment: "sandbox", region: "eu", appId: "mAppId_x" }, "appId");
    refused({ environment: "sandbox", region: "eu", apiKey: "ak_test_x" }, "apiKey");
  });

  it("refuses a missing or unknown environment", () => {
    refused({ region: "eu" }, "environment");
    refused({ environment: "staging", region: "eu" }, "environment");
    refused({ environment: 1, region: "eu" }, "environment");
  });

  it("refuses a missing or unknown region", () => {
    refused({ environment: "sandbox" }, "region");
    refused({ environment: "sandbox", region: "ap" }, "region");
    refused({ environment: "sandbox", region: ["eu"] }, "region");
  });

  it("refuses an invalid retry policy, naming its field", () => {
    refused({ environment: "sandbox", region: "eu", retryPolicy: { tokenAttemptTimeoutMs: 0 } }, "retryPolicy.tokenAttemptTimeoutMs");
    refused({ environment: "sandbox", region: "eu", retryPolicy: { typo: 1 } }, "retryPolicy.typo");
    refused({ environment: "sandbox", region: "eu", retryPolicy: null }, "retryPolicy");
  });
});

describe("kaleyra: an app's own Kaleyra addresses", () => {
  const base = { environment: "sandbox", region: "me" };
  it("accepts https REST and wss/https realtime bases on public hosts", () => {
    const r = parseAppSettings({ ...base, kaleyra: { restUrl: "https://api.sandbox.me.bandyer.com", realtimeUrl: "wss://cs.sandbox.me.bandyer.com" } });
    expect(r).toEqual({ ok: true, value: { ...base, kaleyra: { restUrl: "https://api.sandbox.me.bandyer.com", realtimeUrl: "wss://cs.sandbox.me.bandyer.com" } } });
  });

  it.each([
    ["http REST", { restUrl: "http://api.example.com" }, "kaleyra.restUrl"],
    ["loopback REST outside the local composition", { restUrl: "https://127.0.0.1:8787/emulator" }, "kaleyra.restUrl"],
    ["ws realtime", { realtimeUrl: "ws://cs.example.com" }, "kaleyra.realtimeUrl"],
    ["a private realtime host", { realtimeUrl: "wss://10.0.0.2" }, "kaleyra.realtimeUrl"],
    ["a query", { realtimeUrl: "wss://cs.example.com/?x=1" }, "kaleyra.realtimeUrl"],
    ["an unknown key", { socketUrl: "wss://cs.example.com" }, "kaleyra.socketUrl"],
  ])("refuses %s", (_name, kaleyra, field) => {
    expect(parseAppSettings({ ...base, kaleyra })).toMatchObject({ ok: false, error: { code: "bad_request", field } });
  });

  it("allows http/ws to loopback only where the deployment allows local addresses", () => {
    const kaleyra = { restUrl: "http://127.0.0.1:8787/emulator", realtimeUrl: "ws://127.0.0.1:8787/emulator" };
    expect(parseAppSettings({ ...base, kaleyra }).ok).toBe(false);
    expect(parseAppSettings({ ...base, kaleyra }, { allowLocalWebhooks: true })).toEqual({ ok: true, value: { ...base, kaleyra } });
  });
});

describe("wake: waking a closed app (docs/push.md)", () => {
  const base = { environment: "sandbox", region: "eu" };
  const wake = { events: ["call:incoming"], webPush: { enabled: true, contact: "mailto:ops@tenant.example.com" }, webhookUrl: "https://tenant.example.com/wake" };
  const pair = { publicKey: `B${"A".repeat(86)}`, privateKey: "A".repeat(43) };

  it("keeps the wake settings; refuses a bad one naming its field under wake.", () => {
    expect(parseAppSettings({ ...base, wake })).toEqual({ ok: true, value: { ...base, wake } });
    refused({ ...base, wake: { ...wake, webhookUrl: "https://169.254.169.254/x" } }, "wake.webhookUrl");
    refused({ ...base, wake: { ...wake, extra: 1 } }, "wake.extra");
  });

  it("takes the wake webhook secret and a VAPID pair as write-only secrets: null rotates the pair, a bad shape is refused", () => {
    expect(parseAppPut({ ...base, wake, wakeWebhookSecret: "s".repeat(16), vapidKeys: pair })).toEqual({ ok: true, value: { settings: { ...base, wake }, secrets: { wakeWebhookSecret: "s".repeat(16), vapidKeys: pair } } });
    expect(parseAppPut({ ...base, vapidKeys: null })).toMatchObject({ ok: true, value: { secrets: { vapidKeys: null } } });
    for (const vapidKeys of [{ publicKey: pair.publicKey }, { ...pair, privateKey: "short" }, { ...pair, extra: 1 }, "key"]) {
      expect(parseAppPut({ ...base, vapidKeys })).toMatchObject({ ok: false, error: { code: "bad_request", field: "vapidKeys" } });
    }
  });

  it("a wake webhook needs its secret, Web Push a VAPID pair", () => {
    expect(requiredSecretMissing({ ...base, wake } as AppSettings, { vapidKeys: pair })).toBe("wakeWebhookSecret");
    expect(requiredSecretMissing({ ...base, wake } as AppSettings, { wakeWebhookSecret: "s".repeat(16) })).toBe("vapidKeys");
    expect(requiredSecretMissing({ ...base, wake } as AppSettings, { wakeWebhookSecret: "s".repeat(16), vapidKeys: pair })).toBeUndefined();
  });
});
