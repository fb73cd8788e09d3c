import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER, verifyWebhookSignature } from "../signature";
import { call, createApp, createRoom, createUser, expectedSignature, replaceDelivery, resetEmulator, setClockOffset, type TestApp } from "./testing";

const HOOK_URL = "https://hooks.tenant.test/kaleyra";

interface Received {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

let app: TestApp;
let received: Received[];

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
  await createUser(app, "bob");
  received = [];
  await replaceDelivery(async (request) => {
    received.push({ url: request.url, method: request.method, headers: Object.fromEntries(request.headers), body: await request.text() });
    return new Response(null, { status: 204 });
  });
  expect((await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: HOOK_URL } })).status).toBe(200);
});

afterEach(async () => {
  await replaceDelivery(undefined);
});

async function outbox(appId?: string) {
  return (await call("GET", `/control/webhooks${appId === undefined ? "" : `?appId=${appId}`}`)).json.webhooks as {
    appId: string;
    event: string;
    url: string | null;
    headers: Record<string, string>;
    body: string;
    status: number | null;
    error: string | null;
  }[];
}

/** Checks `t=<unix>,v0=<hex>` against an HMAC computed here, keyed with the API key. */
async function expectSigned(apiKey: string, header: string | undefined, body: string) {
  const m = /^t=(\d+),v0=([0-9a-f]{64})$/.exec(header ?? "");
  expect(m, `signature header ${header}`).not.toBeNull();
  const t = Number(m?.[1]);
  expect(m?.[2]).toBe(await expectedSignature(apiKey, t, body));
  return t;
}

describe("on_user_deactivated", () => {
  it("deactivating a user POSTs a signed webhook to the app's URL and records it in the outbox", async () => {
    const before = Math.floor(Date.now() / 1000);
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect(received).toHaveLength(1);
    const delivery = received[0] as Received;
    expect(delivery.url).toBe(HOOK_URL);
    expect(delivery.method).toBe("POST");
    const body = JSON.parse(delivery.body);
    expect(body).toMatchObject({ event: "on_user_deactivated", app_id: app.appId, data: { user_id: "alice" } });
    expect(Date.parse(body.created_at)).not.toBeNaN();
    const t = await expectSigned(app.apiKey, delivery.headers[SIGNATURE_HEADER], delivery.body);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(before + 5);

    const [entry, ...rest] = await outbox(app.appId);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ appId: app.appId, event: "on_user_deactivated", url: HOOK_URL, status: 204, error: null, body: delivery.body });
    expect(entry?.headers[SIGNATURE_HEADER]).toBe(delivery.headers[SIGNATURE_HEADER]);
  });

  it("the signature verifies with the app's key only, and not over a changed body", async () => {
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    const { body, headers } = received[0] as Received;
    const nowSec = Math.floor(Date.now() / 1000);
    expect(await verifyWebhookSignature(app.apiKey, headers[SIGNATURE_HEADER] ?? null, body, { nowSec })).toMatchObject({ ok: true });
    expect(await verifyWebhookSignature("ak_test_someone_else", headers[SIGNATURE_HEADER] ?? null, body, { nowSec })).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhookSignature(app.apiKey, headers[SIGNATURE_HEADER] ?? null, body.replace("alice", "bob"), { nowSec })).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it("t is on the emulator's clock", async () => {
    await setClockOffset(3_600_000);
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    const t = await expectSigned(app.apiKey, received[0]?.headers[SIGNATURE_HEADER], received[0]?.body ?? "");
    expect(t).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 3_600 - 5);
  });

  it("deactivating an inactive user, or reactivating, sends nothing", async () => {
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: true } });
    expect(received).toHaveLength(1);
    expect(await outbox()).toHaveLength(1);
  });
});

describe("on_room_ended", () => {
  it("ending a room sends a signed on_room_ended with the room and its participants", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(received).toHaveLength(1);
    const body = JSON.parse(received[0]?.body ?? "");
    expect(body).toMatchObject({ event: "on_room_ended", app_id: app.appId, data: { room_id: room.room_id, participants: ["alice", "bob"] } });
    await expectSigned(app.apiKey, received[0]?.headers[SIGNATURE_HEADER], received[0]?.body ?? "");
    expect((await outbox(app.appId)).map((w) => w.event)).toEqual(["on_room_ended"]);
  });
});

describe("the outbox", () => {
  it("records a webhook of an app without a URL as not delivered", async () => {
    await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: null } });
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect(received).toEqual([]);
    const [entry] = await outbox();
    expect(entry).toMatchObject({ event: "on_user_deactivated", url: null, status: null, error: "no_webhook_url" });
    await expectSigned(app.apiKey, entry?.headers[SIGNATURE_HEADER], entry?.body ?? "");
  });

  it("records a failed delivery with its error and the receiver's status otherwise", async () => {
    await replaceDelivery(async () => {
      throw new Error("connection refused");
    });
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    await replaceDelivery(async () => new Response("nope", { status: 500 }));
    await call("PATCH", "/v2/users/bob", { apiKey: app.apiKey, body: { active: false } });
    const [failed, refused] = await outbox();
    expect(failed).toMatchObject({ status: null, error: expect.stringContaining("connection refused") });
    expect(refused).toMatchObject({ status: 500, error: null });
  });

  it("filters by app, and DELETE /control/webhooks empties it", async () => {
    const other = await createApp();
    await createUser(other, "carol");
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    await call("PATCH", "/v2/users/carol", { apiKey: other.apiKey, body: { active: false } });
    expect(await outbox()).toHaveLength(2);
    expect((await outbox(other.appId)).map((w) => w.appId)).toEqual([other.appId]);
    expect((await call("DELETE", "/control/webhooks")).status).toBe(204);
    expect(await outbox()).toEqual([]);
  });
});
