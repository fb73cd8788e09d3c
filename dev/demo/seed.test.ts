import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apps } from "../../durable-objects/apps";
import type { DevEnv } from "../bindings";
import { DEMO_APP_SETTINGS, ensureDemoApp, seedDemoApp } from "./seed";

const demoEnv = (DEMO_APP_ID: string | undefined): DevEnv => ({ ...env, DEMO_APP_ID });
const freshDemoId = () => `mAppId_demo_${crypto.randomUUID().slice(0, 8)}`;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("demo app seeding", () => {
  it("registers DEMO_APP_ID as a sandbox/eu app when it is absent", async () => {
    const appId = freshDemoId();
    const record = await seedDemoApp(demoEnv(appId));
    expect(record).toMatchObject({ appId, environment: "sandbox", region: "eu" });
    expect(await apps(env).getApp(appId)).toEqual(record);
  });

  it("leaves an already registered demo app as it is", async () => {
    const appId = freshDemoId();
    await apps(env).putApp(appId, { environment: "production", region: "us" });
    await seedDemoApp(demoEnv(appId));
    expect(await apps(env).getApp(appId)).toMatchObject({ environment: "production", region: "us" });
  });

  it("does nothing without DEMO_APP_ID, and warns (without registering) for a malformed one", async () => {
    expect(await seedDemoApp(demoEnv(undefined))).toBeNull();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await seedDemoApp(demoEnv("demo"))).toBeNull();
    expect(warn).toHaveBeenCalledOnce();
    expect(await apps(env).getApp("demo")).toBeNull();
  });

  it("seeds once per isolate", async () => {
    const appId = freshDemoId();
    await ensureDemoApp(demoEnv(appId));
    expect(await apps(env).getApp(appId)).toMatchObject({ appId, ...DEMO_APP_SETTINGS });
    // Deleted by an admin: the same isolate does not bring it back.
    await apps(env).deleteApp(appId);
    await ensureDemoApp(demoEnv(appId));
    expect(await apps(env).getApp(appId)).toBeNull();
  });
});
