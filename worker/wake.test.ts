/**
 * The wake routes through the Worker (worker/wake.ts, worker/webhooks.ts, the admin's VAPID pair):
 * the public push key, the tenant's wake and room index, Kaleyra's v0 on_call_incoming, the signed
 * wake webhook to the tenant. Attacks: another app's tenant key wakes nobody and indexes no room; a
 * v0 body's unsigned fields choose nobody; a wake body carrying a token is refused; the VAPID private
 * key and the wake webhook secret are never returned.
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { ROOM_ID_HMAC_HEADER, signRoomId, verifyWebhookSignature } from "../crypto/signature";
import { appState } from "../durable-objects/stubs";
import { fakeRemoteControls } from "../test/fake-remote";
import { browserSubscription, captureWakeLogs, CALLS, connectUser, PUSH_ORIGIN, pushesNow, pushesTo, settle, subscribe, wakeApp, wakeStorage, type WakeApp } from "../test/wake-harness";

afterEach(() => fakeRemoteControls.reset());
captureWakeLogs();

const ADMIN = { Authorization: "Bearer test-admin-token" };
const base = "https://edge.test";
const API_KEY = "ak_test_wake_secret_key_42";
const WAKE_SECRET = "wake-webhook-secret-0123456789";

async function tenantKey(appId: string): Promise<string> {
  const res = await SELF.fetch(`${base}/v1/apps/${appId}/tenant-keys`, { method: "POST", headers: ADMIN });
  return ((await res.json()) as { key: string }).key;
}

const tenant = (key: string, method: string, path: string, body?: unknown) =>
  SELF.fetch(`${base}/v1/tenant/apps/${path}`, { method, headers: { Authorization: `Bearer ${key}` }, ...(body !== undefined && { body: JSON.stringify(body) }) });

/** alice connected and subscribed, then her tab closed. */
async function closedApp(app: WakeApp, userId = "alice") {
  const { client } = await connectUser(app, userId);
  const sub = await browserSubscription(app);
  await subscribe(client, app, sub);
  client.close();
  await client.waitFor((c) => c.closed, "closed");
  await settle(app, userId);
  return sub;
}

describe("GET /v1/apps/:appId/push", () => {
  it("answers the app's VAPID public key to anyone (CORS *), never its private half", async () => {
    const app = await wakeApp();
    const res = await SELF.fetch(`${base}/v1/apps/${app.appId}/push`);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ vapidPublicKey: app.vapidPublicKey, webPush: true });
    expect(text).not.toContain((await appState(env, app.appId).getAppSecrets())!.vapidKeys!.privateKey);
  });

  it("an app written before wakes existed (no pair) draws one at the first ask, once", async () => {
    const appId = `mAppId_old_${crypto.randomUUID().slice(0, 8)}`;
    const v1 = { environment: "sandbox", region: "eu", settings: "{}", kaleyra_api_key: null, token_webhook_secret: null, attach_ticket_secret: null, created_at: 1, updated_at: 1 };
    expect((await appState(env, appId).importV1(appId, v1, [], [], [])).ok).toBe(true);
    expect((await appState(env, appId).getApp())!.vapidPublicKey).toBeUndefined();
    const first = (await (await SELF.fetch(`${base}/v1/apps/${appId}/push`)).json()) as { vapidPublicKey: string };
    expect(first.vapidPublicKey).toMatch(/^B[\w-]{86}$/);
    expect(await appState(env, appId).vapidPublicKey()).toBe(first.vapidPublicKey);
    expect((await appState(env, appId).getApp())!.vapidPublicKey).toBe(first.vapidPublicKey);
  });

  it("an unknown app is 404 app_id_invalid, a malformed id 400", async () => {
    expect((await SELF.fetch(`${base}/v1/apps/mAppId_nobody_here/push`)).status).toBe(404);
    expect((await SELF.fetch(`${base}/v1/apps/nope/push`)).status).toBe(400);
  });
});

describe("the admin's VAPID pair and wake secret", () => {
  const put = (appId: string, body: Record<string, unknown>) => SELF.fetch(`${base}/v1/apps/${appId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify({ environment: "sandbox", region: "eu", ...body }) });

  it("null draws a new pair (a rotation); an operator's pair is kept if it matches, refused if not; neither private half is ever returned", async () => {
    const app = await wakeApp();
    const rotated = await put(app.appId, { vapidKeys: null });
    const record = (await rotated.json()) as { vapidPublicKey: string };
    expect(record.vapidPublicKey).not.toBe(app.vapidPublicKey);
    const other = (await appState(env, (await wakeApp()).appId).getAppSecrets())!.vapidKeys!;
    const mine = await put(app.appId, { vapidKeys: other });
    const text = await mine.text();
    expect(JSON.parse(text).vapidPublicKey).toBe(other.publicKey);
    expect(text).not.toContain(other.privateKey);
    const mismatched = await put(app.appId, { vapidKeys: { publicKey: app.vapidPublicKey, privateKey: other.privateKey } });
    expect(mismatched.status).toBe(400);
    expect(((await mismatched.json()) as { error: { field: string } }).error.field).toBe("vapidKeys");
  });

  it("wake.webhookUrl needs a wakeWebhookSecret, which is write-only", async () => {
    const appId = `mAppId_wakeadmin_${crypto.randomUUID().slice(0, 8)}`;
    const wake = { events: ["call:incoming"], webhookUrl: "https://tenant.example.com/wake" };
    const missing = await put(appId, { wake });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { field: string } }).error.field).toBe("wakeWebhookSecret");
    const ok = await put(appId, { wake, wakeWebhookSecret: WAKE_SECRET });
    const text = await ok.text();
    expect(ok.status).toBe(201);
    expect(text).not.toContain(WAKE_SECRET);
    expect(JSON.parse(text).secrets.wakeWebhookSecret).toBe(true);
  });
});

describe("app deletion", () => {
  it("deleting the app takes its users' subscriptions and wake memory with their sessions' data", async () => {
    const app = await wakeApp();
    const sub = await closedApp(app);
    expect((await wakeStorage(app, "alice")).subscriptions.map((s) => s.endpoint)).toEqual([sub.endpoint]);
    expect((await SELF.fetch(`${base}/v1/apps/${app.appId}`, { method: "DELETE", headers: ADMIN })).status).toBe(204);
    expect((await wakeStorage(app, "alice")).keys.filter((k) => k.startsWith("wake."))).toEqual([]);
  });
});

describe("POST /v1/tenant/apps/:appId/users/:userId/wake", () => {
  it("wakes a subscribed user with no client open: a push with the tenant's texts", async () => {
    const app = await wakeApp();
    const sub = await closedApp(app);
    const res = await tenant(await tenantKey(app.appId), "POST", `${app.appId}/users/alice/wake`, { event: "chat:message", id: "m1", title: "Bob", body: "Hi there", data: { chatId: "c1" } });
    expect(await res.json()).toEqual({ woken: true, webPush: 1, webhook: false });
    const [push] = await pushesTo(sub);
    expect(JSON.parse(push!.payload)).toMatchObject({ reason: "tenant", title: "Bob", body: "Hi there", event: { name: "chat:message", id: "m1", data: { chatId: "c1" } } });
    expect(push!.urgency).toBe("normal");
    // The same id again: one wake per id.
    expect(await (await tenant(await tenantKey(app.appId), "POST", `${app.appId}/users/alice/wake`, { event: "chat:message", id: "m1" })).json()).toEqual({ woken: false, skip: "duplicate" });
  });

  it("attack: another app's tenant key wakes nobody (401, the same as a wrong key)", async () => {
    const app = await wakeApp();
    const other = await wakeApp();
    const sub = await closedApp(app);
    const res = await tenant(await tenantKey(other.appId), "POST", `${app.appId}/users/alice/wake`, { event: "chat:message" });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("tenant_unauthorized");
    await settle(app, "alice");
    expect(await pushesNow(sub)).toEqual([]);
  });

  it("attack: a wake whose text looks like a token or an access link is refused, naming the field", async () => {
    const app = await wakeApp();
    const key = await tenantKey(app.appId);
    for (const [field, body] of [
      ["title", { event: "x", title: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl" }],
      ["data", { event: "x", data: { link: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/ABC" } }],
    ] as const) {
      const res = await tenant(key, "POST", `${app.appId}/users/alice/wake`, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });

  it("the wake webhook carries exactly { appId, userId, reason, event }, signed with the app's wake secret", async () => {
    const app = await wakeApp({ events: ["call:incoming"], webhookUrl: `${PUSH_ORIGIN}/push-control/tenant-wake` }, { wakeWebhookSecret: WAKE_SECRET });
    const since = Date.now();
    const res = await tenant(await tenantKey(app.appId), "POST", `${app.appId}/users/bob/wake`, { event: "chat:message", id: "w1" });
    expect(await res.json()).toEqual({ woken: true, webPush: 0, webhook: true });
    let wakes: { signature: string; body: string; at: number }[] = [];
    for (const until = Date.now() + 3_000; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
      wakes = ((await (await SELF.fetch(`${PUSH_ORIGIN}/push-control/tenant-wake`)).json()) as { wakes: typeof wakes }).wakes.filter((w) => w.at >= since && w.body.includes(app.appId));
      if (wakes.length > 0) break;
    }
    expect(JSON.parse(wakes[0]!.body)).toEqual({ appId: app.appId, userId: "bob", reason: "tenant", event: { name: "chat:message", id: "w1" } });
    expect((await verifyWebhookSignature(WAKE_SECRET, wakes[0]!.signature, wakes[0]!.body, { nowSec: Date.now() / 1_000 })).ok).toBe(true);
  });
});

describe("Kaleyra's v0 on_call_incoming", () => {
  const v0 = async (appId: string, roomId: string, extra: Record<string, unknown> = {}) =>
    SELF.fetch(`${base}/v1/webhooks/kaleyra/${appId}`, {
      method: "POST",
      headers: { [ROOM_ID_HMAC_HEADER]: await signRoomId(API_KEY, roomId) },
      body: JSON.stringify({ event: "on_call_incoming", data: { room_id: roomId, ...extra } }),
    });

  it("wakes the users the tenant said the room calls, once per call; a body's unsigned user id chooses nobody", async () => {
    const app = await wakeApp(CALLS, { kaleyraApiKey: API_KEY });
    const alice = await closedApp(app, "alice");
    const mallory = await closedApp(app, "mallory");
    const key = await tenantKey(app.appId);
    const kept = await tenant(key, "PUT", `${app.appId}/rooms/room_1/users`, { userIds: ["alice", "bob"] });
    expect(await kept.json()).toMatchObject({ roomId: "room_1", userIds: ["alice", "bob"] });
    const res = await v0(app.appId, "room_1", { user_id: "mallory", callee: "mallory" });
    expect(await res.json()).toEqual({ ok: true, handled: "on_call_incoming" });
    const [push] = await pushesTo(alice);
    expect(JSON.parse(push!.payload)).toMatchObject({ reason: "call_incoming", event: { name: "on_call_incoming", callId: "room_1" } });
    await settle(app, "mallory");
    expect(await pushesNow(mallory)).toEqual([]);
  });

  it("attack: another app's tenant key cannot index a room of this app", async () => {
    const app = await wakeApp(CALLS, { kaleyraApiKey: API_KEY });
    const other = await wakeApp();
    expect((await tenant(await tenantKey(other.appId), "PUT", `${app.appId}/rooms/room_1/users`, { userIds: ["alice"] })).status).toBe(401);
    expect(await appState(env, app.appId).roomUsers("room_1")).toEqual([]);
  });
});
