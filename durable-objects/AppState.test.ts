import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppSettings } from "../core/app";
import { DEFAULT_RETRY_POLICY } from "../core/policy";
import { apps } from "./apps";
import { appRegistry, appState } from "./stubs";
import { AppSessions } from "./app-sessions";
import type { AppState } from "./AppState";

/** A new app has no secret but its VAPID pair, drawn at registration (docs/push.md). */
const NO_SECRETS = { kaleyraApiKey: false, tokenWebhookSecret: false, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: true };
const VAPID_PUBLIC_KEY = expect.stringMatching(/^B[\w-]{86}$/);

/** Through the facade the Worker and sessions use: every call goes to the app's own AppState. */
const registry = () => apps(env);
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
        record: { appId, environment: "sandbox", region: "eu", secrets: NO_SECRETS, vapidPublicKey: VAPID_PUBLIC_KEY, epoch: expect.any(String), createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 },
      },
    });
    expect(await registry().getApp(appId)).toEqual(result.ok && result.value.record);
  });

  it("gives an app a new epoch at every registration: kept by updates, new after a delete", async () => {
    const appId = `mAppId_epoch_${crypto.randomUUID().slice(0, 8)}`;
    const first = await appState(env, appId).putApp(appId, SANDBOX_EU);
    const updated = await appState(env, appId).putApp(appId, { environment: "production", region: "us" });
    expect(first.ok && updated.ok && updated.value.record.epoch).toBe(first.ok && first.value.record.epoch);
    await appState(env, appId).deleteApp();
    const again = await appState(env, appId).putApp(appId, SANDBOX_EU);
    expect(again.ok && again.value.record.epoch).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.ok && again.value.record.epoch).not.toBe(first.ok && first.value.record.epoch);
  });

  it("replaces an existing app's settings, keeps createdAt and moves updatedAt", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const appId = freshAppId();
    vi.setSystemTime(1_000);
    await registry().putApp(appId, SANDBOX_EU);
    vi.setSystemTime(5_000);
    const result = await registry().putApp(appId, { environment: "production", region: "us" });
    const expected = { appId, environment: "production", region: "us", secrets: NO_SECRETS, vapidPublicKey: VAPID_PUBLIC_KEY, epoch: expect.any(String), createdAt: 1_000, updatedAt: 5_000 };
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

describe("AppState: an app's sessions, rooms and webhooks, in its own object", () => {
  const OBJ = (c: string) => c.repeat(64);

  it("a lookup of an unknown app leaves no storage behind, and every method answers as for an absent app", async () => {
    const appId = freshAppId();
    const state = appState(env, appId);
    expect(await state.getApp()).toBeNull();
    expect(await state.claimSession(OBJ("a"), 10)).toBe(false);
    expect(await state.indexRoomSession("room", OBJ("a"))).toBe(true);
    expect(await state.markWebhookSeen("t=1,v0=ab", 1, 0)).toBe(false);
    expect(await state.tenantKeyValid("00")).toBe(false);
    expect(await state.addTenantKey("0123456789ab", "00")).toBeNull();
    await runInDurableObject(state, async (_o, ctx) => {
      expect(ctx.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray()).toEqual([]);
    });
  });

  it("counts session slots per app: the max-th is refused, a release frees one, a claim is idempotent", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    const other = freshAppId();
    await registry().putApp(other, SANDBOX_EU);
    expect(await registry().claimSession(appId, OBJ("1"), 2)).toBe(true);
    expect(await registry().claimSession(appId, OBJ("1"), 2)).toBe(true);
    expect(await registry().claimSession(appId, OBJ("2"), 2)).toBe(true);
    expect(await registry().claimSession(appId, OBJ("3"), 2)).toBe(false);
    // Another app's slots are its own.
    expect(await registry().claimSession(other, OBJ("3"), 2)).toBe(true);
    await registry().releaseSession(appId, OBJ("1"));
    expect(await registry().claimSession(appId, OBJ("3"), 2)).toBe(true);
  });

  it("keeps the newest status report, and a report after the release does not bring the slot back", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    const state = appState(env, appId);
    await state.claimSession(OBJ("1"), 10);
    await state.sessionStatus(OBJ("1"), "connected", { kind: "token", userId: "u" }, Date.now() + 10);
    await state.sessionStatus(OBJ("1"), "connecting", { kind: "token", userId: "u" }, Date.now());
    expect((await state.listSessions(undefined, undefined, 10)).sessions).toEqual([{ status: "connected", kind: "token", userId: "u", updatedAt: expect.any(Number) }]);
    await state.releaseSession(OBJ("1"));
    await state.sessionStatus(OBJ("1"), "reconnecting", { kind: "token", userId: "u" }, Date.now() + 20);
    expect(await state.listSessions(undefined, undefined, 10)).toEqual({ sessions: [] });
  });

  it("removing the app (one step) returns every session object to end: active ones and idle ones that proved a socket of this registration", async () => {
    const appId = freshAppId();
    const put = await registry().putApp(appId, SANDBOX_EU);
    const epoch = put.ok ? put.value.record.epoch : "";
    await registry().claimSession(appId, OBJ("active"), 10, epoch);
    expect(await registry().sessionProven(appId, OBJ("idle"), epoch)).toBe(epoch);
    expect(await registry().sessionProven(appId, OBJ("stale"), "another-epoch")).toBe(epoch);
    expect(await registry().claimSession(appId, OBJ("stale"), 10, "another-epoch")).toBe(false);
    expect((await registry().removeApp(appId))?.sort()).toEqual([OBJ("active"), OBJ("idle")]);
    expect(await registry().getApp(appId)).toBeNull();
    expect(await registry().removeApp(appId)).toBeNull();
    expect(await registry().sessionProven(appId, OBJ("idle"), epoch)).toBeNull();
  });

  it("remembers a bounded number of proven objects: the least recently reported go", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    const kept = await runInDurableObject(appState(env, appId), (_o: AppState, state) => {
      const sessions = new AppSessions(state.storage.sql, 3, 1);
      for (const [i, id] of ["a", "b", "c", "d", "b", "e"].entries()) sessions.proven(OBJ(id), 1_000 + i);
      return sessions.everyObject().sort();
    });
    expect(kept).toEqual([OBJ("b"), OBJ("d"), OBJ("e")]);
  });

  it("removing the app returns its sessions and forgets everything: keys, rooms, webhooks", async () => {
    const appId = freshAppId();
    await registry().putApp(appId, SANDBOX_EU);
    await registry().claimSession(appId, OBJ("1"), 10);
    await registry().indexRoomSession(appId, "room1", OBJ("1"));
    expect(await registry().markWebhookSeen(appId, "sig", 100, 0)).toBe(true);
    expect(await registry().markWebhookSeen(appId, "sig", 100, 0)).toBe(false);
    expect(await registry().takeAppSessions(appId)).toEqual([OBJ("1")]);
    expect(await registry().deleteApp(appId)).toBe(true);
    await registry().putApp(appId, SANDBOX_EU);
    expect(await registry().takeRoomSessions(appId, "room1")).toEqual([]);
    expect(await registry().markWebhookSeen(appId, "sig", 100, 0)).toBe(true);
    expect(await appState(env, appId).listTenantKeys()).toEqual([]);
  });

  it("the deployment-wide registry lists the apps the admin created, a page at a time", async () => {
    const ids = [freshAppId(), freshAppId(), freshAppId()].sort();
    for (const id of ids) await registry().putApp(id, SANDBOX_EU);
    const list = appRegistry(env);
    const all: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1_000; page++) {
      const got = await list.listApps(cursor, 2);
      all.push(...got.apps.map((a) => a.appId));
      if (got.nextCursor === undefined) break;
      cursor = got.nextCursor;
    }
    expect(all).toEqual(expect.arrayContaining(ids));
    expect(all).toEqual([...all].sort());
    await registry().deleteApp(ids[0]!);
    expect((await list.listApps(undefined, 100)).apps.map((a) => a.appId)).not.toContain(ids[0]);
  });
});

describe("migration from v1's deployment-wide registry", () => {
  it("copies every v1 app (settings, secrets, slots, rooms) into its AppState and lists it, then drops v1's tables", async () => {
    const appId = freshAppId();
    const registryOf = () => env.APP_REGISTRY.get(env.APP_REGISTRY.idFromName(`v1-${appId}`));
    await runInDurableObject(registryOf(), async (_o, ctx) => {
      const sql = ctx.storage.sql;
      // v1's schema, as v1 created it.
      sql.exec(`CREATE TABLE apps (app_id TEXT PRIMARY KEY, environment TEXT NOT NULL, region TEXT NOT NULL, settings TEXT NOT NULL,
        kaleyra_api_key TEXT, token_webhook_secret TEXT, attach_ticket_secret TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
      sql.exec("CREATE TABLE app_sessions (app_id TEXT NOT NULL, object_id TEXT NOT NULL, PRIMARY KEY (app_id, object_id))");
      sql.exec("CREATE TABLE room_sessions (app_id TEXT NOT NULL, room_id TEXT NOT NULL, object_id TEXT NOT NULL, PRIMARY KEY (app_id, room_id, object_id))");
      sql.exec("CREATE TABLE ended_rooms (app_id TEXT NOT NULL, room_id TEXT NOT NULL, ended_at INTEGER NOT NULL, PRIMARY KEY (app_id, room_id))");
      sql.exec("CREATE TABLE webhooks_seen (app_id TEXT NOT NULL, signature TEXT NOT NULL, signed_at INTEGER NOT NULL, PRIMARY KEY (app_id, signature))");
      sql.exec("INSERT INTO apps VALUES (?, 'production', 'us', ?, 'ak_test_v1_key_0001', NULL, 'v1-ticket-secret-0123456789', 111, 222)", appId, JSON.stringify({ attachModes: ["ticket"], maxSessions: 7 }));
      sql.exec("INSERT INTO app_sessions VALUES (?, ?)", appId, "e".repeat(64));
      sql.exec("INSERT INTO room_sessions VALUES (?, 'room-a', ?)", appId, "f".repeat(64));
      sql.exec("INSERT INTO ended_rooms VALUES (?, 'room-b', ?)", appId, Date.now());
    });
    await evictDurableObject(registryOf());
    // The next call constructs the registry anew, which migrates before answering.
    expect((await registryOf().listApps(undefined, 10)).apps).toEqual([{ appId, createdAt: 111 }]);
    expect(await appState(env, appId).getApp()).toEqual({
      appId,
      environment: "production",
      region: "us",
      attachModes: ["ticket"],
      maxSessions: 7,
      secrets: { kaleyraApiKey: true, tokenWebhookSecret: false, attachTicketSecret: true, wakeWebhookSecret: false, vapidKeys: false },
      epoch: expect.any(String),
      createdAt: 111,
      updatedAt: 222,
    });
    expect(await appState(env, appId).getAppSecrets()).toEqual({ kaleyraApiKey: "ak_test_v1_key_0001", attachTicketSecret: "v1-ticket-secret-0123456789" });
    expect(await appState(env, appId).takeRoomSessions("room-a")).toEqual(["f".repeat(64)]);
    expect(await appState(env, appId).indexRoomSession("room-b", "0".repeat(64))).toBe(false);
    expect(await appState(env, appId).takeAppSessions()).toEqual(["e".repeat(64)]);
    await runInDurableObject(registryOf(), async (_o, ctx) => {
      expect(ctx.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('apps', 'app_sessions', 'room_sessions')").toArray()).toEqual([]);
    });
  });
});
