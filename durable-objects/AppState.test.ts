import { env, evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppSettings } from "../core/app";
import { DEFAULT_RETRY_POLICY } from "../core/policy";
import { appState, registryStub } from "../worker/registry";

const NO_SECRETS = { kaleyraApiKey: false, tokenWebhookSecret: false, attachTicketSecret: false };

/** Through the facade the Worker and sessions use: every call goes to the app's own AppState. */
const registry = () => registryStub(env);
let counter = 0;
const freshAppId = () => `mAppId_registry${++counter}_${crypto.randomUUID().slice(0, 8)}`;
const SANDBOX_EU: AppSettings = { environment: "sandbox", region: "eu" };

afterEach(() => {
  vi.useRealTimers();
});

describe("AppState: an app's settings and secrets", () => {
  it("returns null for an app that was never registered", async () => {
    expect(await registry().getApp(freshAppId())).toBeNull();
  });

  it("creates an app and reports it as created, with both timestamps at the time of the write", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_700_000_000_000);
    const appId = freshAppId();
    const result = await registry().putApp(appId, SANDBOX_EU);
    expect(result).toEqual({
      ok: true,
      value: {
        created: true,
        record: { appId, environment: "sandbox", region: "eu", secrets: NO_SECRETS, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 },
      },
    });
    expect(await registry().getApp(appId)).toEqual(result.ok && result.value.record);
  });

  it("replaces an existing app's settings, keeps createdAt and moves updatedAt", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const appId = freshAppId();
    vi.setSystemTime(1_000);
    await registry().putApp(appId, SANDBOX_EU);
    vi.setSystemTime(5_000);
    const result = await registry().putApp(appId, { environment: "production", region: "us" });
    const expected = { appId, environment: "production", region: "us", secrets: NO_SECRETS, createdAt: 1_000, updatedAt: 5_000 };
    expect(result).toEqual({ ok: true, value: { created: false, record: expected } });
    expect(await registry().getApp(appId)).toEqual(expected);
  });

  it("stores a retry policy merged over the defaults, and drops it when a later write omits it", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, { ...SANDBOX_EU, retryPolicy: { ...DEFAULT_RETRY_POLICY, jitterMaxMs: 0 } });
    expect((await registry().getApp(appId))?.retryPolicy).toEqual({ ...DEFAULT_RETRY_POLICY, jitterMaxMs: 0 });
    await registry().putApp(appId, SANDBOX_EU);
    expect(await registry().getApp(appId)).not.toHaveProperty("retryPolicy");
  });

  it("refuses invalid settings sent over RPC and leaves the stored app as it was", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    const before = await registry().getApp(appId);
    const bad = { environment: "staging", region: "eu" } as unknown as AppSettings;
    const result = await registry().putApp(appId, bad);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe("bad_request");
    expect(!result.ok && result.error.field).toBe("environment");
    const badPolicy = { ...SANDBOX_EU, retryPolicy: { jitterMaxMs: -1 } } as unknown as AppSettings;
    expect((await registry().putApp(appId, badPolicy)).ok).toBe(false);
    expect(await registry().getApp(appId)).toEqual(before);
  });

  it("refuses a malformed appId and stores nothing", async () => {
    const result = await registry().putApp("not-an-app-id", SANDBOX_EU);
    expect(!result.ok && result.error).toMatchObject({ code: "bad_request", field: "appId" });
    expect(await registry().getApp("not-an-app-id")).toBeNull();
    expect(await registry().deleteApp("not-an-app-id")).toBe(false);
  });

  it("ensureApp creates an absent app but never overwrites an existing one", async () => {
    const appId = freshAppId();
    const first = await registry().ensureApp(appId, SANDBOX_EU);
    expect(first.ok && first.value.created).toBe(true);
    const second = await registry().ensureApp(appId, { environment: "production", region: "in" });
    expect(second.ok && second.value).toEqual({ created: false, record: first.ok && first.value.record });
    expect((await registry().getApp(appId))?.environment).toBe("sandbox");
  });

  it("deletes an app once: true the first time, false after", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    expect(await registry().deleteApp(appId)).toBe(true);
    expect(await registry().getApp(appId)).toBeNull();
    expect(await registry().deleteApp(appId)).toBe(false);
  });

  it("keeps apps across an eviction of the object (storage is the truth)", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    await evictDurableObject(appState(env, appId));
    expect(await registry().getApp(appId)).toMatchObject({ appId, ...SANDBOX_EU });
  });
});
