/**
 * The Worker's way to the app registry. Every access first makes sure the demo app (DEMO_APP_ID,
 * set by `npm start`) exists, once per isolate per demo id: the demo is re-created by a fresh
 * isolate if an admin deleted it, and an existing demo app's settings are never overwritten.
 */
import { isAppId, type AppSettings } from "../core/app";
import { REGISTRY_NAME, type AppRecord } from "../durable-objects/AppRegistry";
import type { Env } from "./env";

export const DEMO_APP_SETTINGS: AppSettings = { environment: "sandbox", region: "eu" };

const seededDemoApps = new Set<string>();

export function registryStub(env: Env) {
  return env.APP_REGISTRY.get(env.APP_REGISTRY.idFromName(REGISTRY_NAME));
}

/** Registers env.DEMO_APP_ID as a sandbox/eu app if it is absent; returns the stored record. */
export async function seedDemoApp(env: Env): Promise<AppRecord | null> {
  const appId = env.DEMO_APP_ID;
  if (appId === undefined || appId === "") return null;
  if (!isAppId(appId)) {
    console.warn("DEMO_APP_ID is not an app id (mAppId_...); no demo app registered");
    return null;
  }
  const apiKey = env.DEMO_KALEYRA_API_KEY;
  const result = apiKey
    ? await registryStub(env).ensureApp(appId, { ...DEMO_APP_SETTINGS, serverTokens: { source: "kaleyra_api", order: "fallback" } }, { kaleyraApiKey: apiKey })
    : await registryStub(env).ensureApp(appId, DEMO_APP_SETTINGS);
  return result.ok ? result.value.record : null;
}

/** The registry stub, after the demo app of this isolate is in place. */
export async function appRegistry(env: Env) {
  const demo = env.DEMO_APP_ID;
  if (demo !== undefined && !seededDemoApps.has(demo)) {
    await seedDemoApp(env);
    // Marked only after success, so a failed seed is retried by the next request.
    seededDemoApps.add(demo);
  }
  return registryStub(env);
}
