import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AppRegistry } from "../durable-objects/AppRegistry";
import { app } from "./app";
import { APP_CACHE_TTL_MS, appCacheClock } from "../durable-objects/app-cache";
import type { Env } from "../durable-objects/bindings";
import { apps } from "../durable-objects/apps";
import { appState } from "../durable-objects/stubs";
import { ticketFor, TICKET_SECRET } from "../test/harness";

const realNow = appCacheClock.now;
afterEach(() => {
  appCacheClock.now = realNow;
  vi.restoreAllMocks();
});

const freshAppId = () => `mAppId_cache_${crypto.randomUUID().slice(0, 8)}`;

/** The Worker with a session namespace that only records which upgrades reach a session. */
function workerWithFakeSessions() {
  let forwarded = 0;
  const USER_SESSION = { idFromName: (name: string) => ({ name }), get: () => ({ fetch: async () => (forwarded++, new Response(null, { status: 204 })) }) };
  const fakeEnv = { ...env, USER_SESSION } as unknown as Env;
  const attach = async (appId: string): Promise<"forwarded" | string> => {
    const before = forwarded;
    const res = await app.fetch(new Request(`https://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=u1`, { headers: { Upgrade: "websocket" } }), fakeEnv);
    if (forwarded > before) return "forwarded";
    const ws = res.webSocket!;
    const frame = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string).code)));
    ws.accept();
    return frame;
  };
  return { attach };
}

describe("the edge cache of app settings", () => {
  it("a removed app stops attaching within APP_CACHE_TTL_MS, even when the removal happened elsewhere", async () => {
    let now = 1_000_000;
    appCacheClock.now = () => now;
    const appId = freshAppId();
    await apps(env).putApp(appId, { environment: "sandbox", region: "eu" });
    const worker = workerWithFakeSessions();
    expect(await worker.attach(appId)).toBe("forwarded");

    // Removed by another isolate: this isolate's copy is not dropped, so it serves it until the bound.
    await appState(env, appId).deleteApp();
    now += APP_CACHE_TTL_MS - 1;
    expect(await worker.attach(appId)).toBe("forwarded");
    now += 1;
    expect(await worker.attach(appId)).toBe("app_id_invalid");
  });

  it("a removal or change through this isolate applies at once", async () => {
    appCacheClock.now = () => 5_000_000;
    const appId = freshAppId();
    await apps(env).putApp(appId, { environment: "sandbox", region: "eu" });
    const worker = workerWithFakeSessions();
    expect(await worker.attach(appId)).toBe("forwarded");
    await apps(env).putApp(appId, { environment: "production", region: "eu" });
    expect(await worker.attach(appId)).toBe("app_id_invalid"); // the client says sandbox
    await apps(env).putApp(appId, { environment: "sandbox", region: "eu" });
    expect(await worker.attach(appId)).toBe("forwarded");
    await apps(env).deleteApp(appId);
    expect(await worker.attach(appId)).toBe("app_id_invalid");
  });

  it("a secret replaced elsewhere is used for at most APP_CACHE_TTL_MS; one replaced here at once", async () => {
    let now = 20_000_000;
    appCacheClock.now = () => now;
    const appId = freshAppId();
    const settings = { environment: "sandbox", region: "eu", attachModes: ["ticket"] } as const;
    await apps(env).putApp(appId, { ...settings, attachModes: [...settings.attachModes] }, { attachTicketSecret: "first-secret-0123456789" });
    expect(await apps(env).getAppSecrets(appId)).toMatchObject({ attachTicketSecret: "first-secret-0123456789" });
    await appState(env, appId).putApp(appId, { ...settings, attachModes: [...settings.attachModes] }, { attachTicketSecret: "second-secret-0123456789" });
    now += APP_CACHE_TTL_MS - 1;
    expect(await apps(env).getAppSecrets(appId)).toMatchObject({ attachTicketSecret: "first-secret-0123456789" });
    now += 1;
    expect(await apps(env).getAppSecrets(appId)).toMatchObject({ attachTicketSecret: "second-secret-0123456789" });
    await apps(env).putApp(appId, { ...settings, attachModes: [...settings.attachModes] }, { attachTicketSecret: "third-secret-0123456789" });
    expect(await apps(env).getAppSecrets(appId)).toMatchObject({ attachTicketSecret: "third-secret-0123456789" });
  });

  it("an unknown app is remembered as unknown for the bound too, and a created one is seen at once here", async () => {
    appCacheClock.now = () => 9_000_000;
    const appId = freshAppId();
    const worker = workerWithFakeSessions();
    const load = vi.spyOn(AppRegistry.prototype, "listApps");
    expect(await worker.attach(appId)).toBe("app_id_invalid");
    await apps(env).putApp(appId, { environment: "sandbox", region: "eu" });
    expect(await worker.attach(appId)).toBe("forwarded");
    expect(load).not.toHaveBeenCalled();
  });
});

describe("attach touches no deployment-wide object", () => {
  it("a full attach (upgrade, ticket proof, first state) makes no call to the AppRegistry; an admin write does", async () => {
    const calls: string[] = [];
    for (const name of Object.getOwnPropertyNames(AppRegistry.prototype)) {
      if (name === "constructor") continue;
      const original = (AppRegistry.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
      vi.spyOn(AppRegistry.prototype as unknown as Record<string, (...a: unknown[]) => unknown>, name).mockImplementation(function (this: unknown, ...args: unknown[]) {
        calls.push(name);
        return original.apply(this, args);
      });
    }
    // The Worker's own way to the registry is instrumented too: a stub made for it counts.
    const countingEnv = {
      ...env,
      APP_REGISTRY: new Proxy(env.APP_REGISTRY, {
        get: (target, prop) => {
          calls.push(`APP_REGISTRY.${String(prop)}`);
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    } as Env;

    const appId = freshAppId();
    await apps(env).putApp(appId, { environment: "sandbox", region: "eu", attachModes: ["ticket"] }, { attachTicketSecret: TICKET_SECRET });
    expect(calls).toContain("listApp"); // the instrument sees the admin's write
    calls.length = 0;

    for (const userId of ["first", "second"]) {
      const res = await app.fetch(new Request(`https://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=${userId}`, { headers: { Upgrade: "websocket" } }), countingEnv);
      const ws = res.webSocket!;
      const frames: { type: string }[] = [];
      ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
  });
      ws.accept();
      ws.send(JSON.stringify({ type: "auth", ticket: await ticketFor(appId, userId) }));
      for (const until = Date.now() + 2_000; !frames.some((f) => f.type === "state"); ) {
        if (Date.now() > until) throw new Error(`no state frame: ${JSON.stringify(frames)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      ws.close();
    }
    expect(calls).toEqual([]);
  });
});
