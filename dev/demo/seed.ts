/**
 * The demo app of `npm start` (DEMO_APP_ID, docs/demo.md): registered as a sandbox/eu app before the
 * local composition serves its first request, once per isolate. An admin's delete is not undone by
 * the same isolate, and an existing demo app is never overwritten.
 */
import { isAppId, type AppSettings } from "../../core/app";
import type { AppRecord } from "../../durable-objects/AppRegistry";
import { apps } from "../../durable-objects/apps";
import type { DevEnv } from "../bindings";

/** Wakes on (docs/push.md): the emulator's call:incoming and Kaleyra's v0 on_call_incoming, by Web Push. */
export const DEMO_APP_SETTINGS: AppSettings = {
  environment: "sandbox",
  region: "eu",
  wake: { events: ["call:incoming", "on_call_incoming"], webPush: { enabled: true, contact: "mailto:demo@kaleyra-edge.dev" } },
};

const seededDemoApps = new Set<string>();

/** Registers env.DEMO_APP_ID as a sandbox/eu app if it is absent; returns the stored record. */
export async function seedDemoApp(env: DevEnv): Promise<AppRecord | null> {
  const appId = env.DEMO_APP_ID;
  if (appId === undefined || appId === "") return null;
  if (!isAppId(appId)) {
    console.warn("DEMO_APP_ID is not an app id (mAppId_...); no demo app registered");
    return null;
  }
  const apiKey = env.DEMO_KALEYRA_API_KEY;
  const result = apiKey
    ? await apps(env).ensureApp(appId, { ...DEMO_APP_SETTINGS, serverTokens: { source: "kaleyra_api", order: "fallback" } }, { kaleyraApiKey: apiKey })
    : await apps(env).ensureApp(appId, DEMO_APP_SETTINGS);
  return result.ok ? result.value.record : null;
}

/** Seeds the demo app the first time this isolate serves a request with DEMO_APP_ID set. */
export async function ensureDemoApp(env: DevEnv): Promise<void> {
  const demo = env.DEMO_APP_ID;
  if (demo === undefined || seededDemoApps.has(demo)) return;
  // Marked only after the app is in place, so a failed seed is retried by the next request (a
  // malformed DEMO_APP_ID is warned about on every request until fixed).
  if ((await seedDemoApp(env)) !== null) seededDemoApps.add(demo);
}
