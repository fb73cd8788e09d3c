import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROOM_ID_HMAC_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from "../../crypto/signature";
import { call, createApp, createRoom, createUser, expectedSignature, replaceDelivery, resetEmulator, setClockOffset, setFaults, type TestApp } from "./testing";

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
  await setFaults({});
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

/** Checks `t=<unix seconds>,v0=<hex>` against an HMAC computed here, keyed with the API key. */
async function expectSigned(apiKey: string, header: string | undefined, body: string) {
  const m = /^t=(\d+),v0=([0-9a-f]{64})$/.exec(header ?? "");
  expect(m, `signature header ${header}`).not.toBeNull();
  const t = Number(m?.[1]);
  expect(m?.[2]).toBe(await expectedSignature(apiKey, t, body));
  return t;
}

const endCall = (roomId: string, apiKey = app.apiKey) => call("POST", `/v2/rooms/${roomId}/end`, { apiKey });
const disable = (roomId: string, apiKey = app.apiKey) => call("PUT", `/rest/room/disable/${roomId}`, { apiKey });
const remove = (roomId: string, apiKey = app.apiKey) => call("DELETE", `/rest/room/delete/${roomId}`, { apiKey });

describe("on_session_ended (a call in a room ended)", () => {
  it("POSTs a signed v1 webhook to the app's URL and records it in the outbox", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    const before = Date.now();
    expect((await endCall(room.room_id)).status).toBe(200);
    expect(received).toHaveLength(1);
    const delivery = received[0] as Received;
    expect(delivery).toMatchObject({ url: HOOK_URL, method: "POST" });
    const body = JSON.parse(delivery.body);
    expect(Object.keys(body)).toEqual(["event", "event_version", "namespace", "timestamp", "data"]);
    expect(body).toMatchObject({ event: "on_session_ended", event_version: "1.0", namespace: "room", data: { room_id: room.room_id, session_id: expect.stringMatching(/^session_/) } });
    // timestamp in milliseconds, as in Kaleyra's example; t in seconds.
    expect(body.timestamp).toBeGreaterThanOrEqual(before);
    expect(body.timestamp).toBeLessThanOrEqual(Date.now());
    const t = await expectSigned(app.apiKey, delivery.headers[SIGNATURE_HEADER], delivery.body);
    expect(t).toBe(Math.floor(body.timestamp / 1000));

    const [entry, ...rest] = await outbox(app.appId);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ appId: app.appId, event: "on_session_ended", url: HOOK_URL, status: 204, error: null, body: delivery.body });
    expect(entry?.headers[SIGNATURE_HEADER]).toBe(delivery.headers[SIGNATURE_HEADER]);
  });

  it("the signature verifies with the app's key only, and not over a changed body", async () => {
    const room = await createRoom(app, ["alice"]);
    await endCall(room.room_id);
    const { body, headers } = received[0] as Received;
    const nowSec = Math.floor(Date.now() / 1000);
    expect(await verifyWebhookSignature(app.apiKey, headers[SIGNATURE_HEADER] ?? null, body, { nowSec })).toMatchObject({ ok: true });
    expect(await verifyWebhookSignature("ak_test_someone_else", headers[SIGNATURE_HEADER] ?? null, body, { nowSec })).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhookSignature(app.apiKey, headers[SIGNATURE_HEADER] ?? null, body.replace(room.room_id, "room_other"), { nowSec })).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it("t is on the emulator's clock", async () => {
    const room = await createRoom(app, ["alice"]);
    await setClockOffset(3_600_000);
    await endCall(room.room_id);
    const t = await expectSigned(app.apiKey, received[0]?.headers[SIGNATURE_HEADER], received[0]?.body ?? "");
    expect(t).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 3_600 - 5);
    await setClockOffset(0);
  });
});

describe("deactivating a user", () => {
  it("sends no webhook: Kaleyra has no such event (its realtime connections get user:force_disconnect)", async () => {
    expect((await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } })).status).toBe(200);
    expect(received).toEqual([]);
    expect(await outbox()).toEqual([]);
  });
});

describe("on_room_disabled (PUT /rest/room/disable/:room_id)", () => {
  it("ends the room's call, so its links stop working, and sends on_room_disabled", async () => {
    const room = await createRoom(app, ["alice"]);
    const answer = await disable(room.room_id);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ room_id: room.room_id, status: "ended" });
    expect(received.map((r) => JSON.parse(r.body))).toEqual([{ event: "on_room_disabled", event_version: "1.0", namespace: "room", timestamp: expect.any(Number), data: { room_id: room.room_id } }]);
    await expectSigned(app.apiKey, received[0]?.headers[SIGNATURE_HEADER], received[0]?.body ?? "");
    expect((await call("GET", `/v2/rooms/${room.room_id}`, { apiKey: app.apiKey })).json.status).toBe("ended");
  });

  it("a room whose call already ended can still be disabled", async () => {
    const room = await createRoom(app, ["alice"]);
    await endCall(room.room_id);
    expect((await disable(room.room_id)).status).toBe(200);
    expect((await outbox()).map((w) => w.event)).toEqual(["on_session_ended", "on_room_disabled"]);
  });

  it("another app's room, or an unknown one, is 404 room_not_found and sends nothing", async () => {
    const other = await createApp();
    const room = await createRoom(app, ["alice"]);
    expect((await disable(room.room_id, other.apiKey)).json).toMatchObject({ error: "room_not_found" });
    expect((await disable("room_nope")).status).toBe(404);
    expect((await disable(room.room_id, "ak_test_nobody_0000")).status).toBe(401);
    expect(await outbox()).toEqual([]);
    expect((await call("GET", `/v2/rooms/${room.room_id}`, { apiKey: app.apiKey })).json.status).toBe("active");
  });
});

describe("on_room_deleted (DELETE /rest/room/delete/:room_id)", () => {
  it("deletes the room and its links, and sends on_room_deleted with the deleted links (Kaleyra's example)", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    const answer = await remove(room.room_id);
    expect(answer.status).toBe(200);
    const deleted_links = room.participants.map((p) => ({ user_id: p.user_id, link: p.access_link }));
    expect(answer.json).toEqual({ room_id: room.room_id, deleted_links });
    expect(JSON.parse(received[0]?.body ?? "")).toMatchObject({ event: "on_room_deleted", event_version: "1.0", namespace: "room", data: { room_id: room.room_id, deleted_links } });
    await expectSigned(app.apiKey, received[0]?.headers[SIGNATURE_HEADER], received[0]?.body ?? "");
    expect((await call("GET", `/v2/rooms/${room.room_id}`, { apiKey: app.apiKey })).status).toBe(404);
    expect((await remove(room.room_id)).status).toBe(404);
    expect(received).toHaveLength(1);
  });

  it("another app cannot delete the room", async () => {
    const other = await createApp();
    const room = await createRoom(app, ["alice"]);
    expect((await remove(room.room_id, other.apiKey)).status).toBe(404);
    expect((await call("GET", `/v2/rooms/${room.room_id}`, { apiKey: app.apiKey })).json.status).toBe("active");
    expect(await outbox()).toEqual([]);
  });

  it("the v1 routes are behind the same injected HTTP faults as /v2", async () => {
    const room = await createRoom(app, ["alice"]);
    await setFaults({ outage: "refuse" });
    expect((await remove(room.room_id)).status).toBe(503);
    await setFaults({});
    expect((await call("GET", `/v2/rooms/${room.room_id}`, { apiKey: app.apiKey })).json.status).toBe("active");
  });
});

describe("v0 on_call_ended (POST /control/apps/:appId/rooms/:roomId/end-call-v0)", () => {
  it("ends the call and sends Kaleyra's v0 form: no bandyer-signature, room-id-hmac = HMAC-SHA256(API key, room id)", async () => {
    const room = await createRoom(app, ["alice"]);
    expect((await call("POST", `/control/apps/${app.appId}/rooms/${room.room_id}/end-call-v0`)).json).toMatchObject({ status: "ended" });
    const delivery = received[0] as Received;
    expect(JSON.parse(delivery.body)).toEqual({ event: "on_call_ended", data: { room_id: room.room_id } });
    expect(delivery.headers[SIGNATURE_HEADER]).toBeUndefined();
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(app.apiKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(room.room_id)));
    expect(delivery.headers[ROOM_ID_HMAC_HEADER]).toBe([...mac].map((b) => b.toString(16).padStart(2, "0")).join(""));
    expect((await call("POST", `/control/apps/${app.appId}/rooms/${room.room_id}/end-call-v0`)).status).toBe(409);
    expect((await call("POST", `/control/apps/${app.appId}/rooms/room_nope/end-call-v0`)).status).toBe(404);
    expect(received).toHaveLength(1);
  });
});

describe("v0 on_call_incoming (POST /control/apps/:appId/rooms/:roomId/incoming-call-v0)", () => {
  it("sends Kaleyra's v0 form for a live room and changes nothing about it; an ended or unknown room is refused", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    expect((await call("POST", `/control/apps/${app.appId}/rooms/${room.room_id}/incoming-call-v0`)).json).toMatchObject({ status: "active" });
    const delivery = received[0] as Received;
    expect(JSON.parse(delivery.body)).toEqual({ event: "on_call_incoming", data: { room_id: room.room_id } });
    expect(delivery.headers[SIGNATURE_HEADER]).toBeUndefined();
    expect(delivery.headers[ROOM_ID_HMAC_HEADER]).toMatch(/^[0-9a-f]{64}$/);
    await call("POST", `/control/apps/${app.appId}/rooms/${room.room_id}/end-call-v0`);
    expect((await call("POST", `/control/apps/${app.appId}/rooms/${room.room_id}/incoming-call-v0`)).status).toBe(409);
    expect((await call("POST", `/control/apps/${app.appId}/rooms/room_nope/incoming-call-v0`)).status).toBe(404);
  });
});

describe("the outbox", () => {
  it("records a webhook of an app without a URL as not delivered", async () => {
    await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: null } });
    await endCall((await createRoom(app, ["alice"])).room_id);
    expect(received).toEqual([]);
    const [entry] = await outbox();
    expect(entry).toMatchObject({ event: "on_session_ended", url: null, status: null, error: "no_webhook_url" });
    await expectSigned(app.apiKey, entry?.headers[SIGNATURE_HEADER], entry?.body ?? "");
  });

  it("records a failed delivery with its error and the receiver's status otherwise", async () => {
    await replaceDelivery(async () => {
      throw new Error("connection refused");
    });
    await endCall((await createRoom(app, ["alice"])).room_id);
    await replaceDelivery(async () => new Response("nope", { status: 500 }));
    await endCall((await createRoom(app, ["bob"])).room_id);
    const [failed, refused] = await outbox();
    expect(failed).toMatchObject({ status: null, error: expect.stringContaining("connection refused") });
    expect(refused).toMatchObject({ status: 500, error: null });
  });

  it("filters by app, and DELETE /control/webhooks empties it", async () => {
    const other = await createApp();
    await createUser(other, "carol");
    await endCall((await createRoom(app, ["alice"])).room_id);
    await endCall((await createRoom(other, ["carol"])).room_id, other.apiKey);
    expect(await outbox()).toHaveLength(2);
    expect((await outbox(other.appId)).map((w) => w.appId)).toEqual([other.appId]);
    expect((await call("DELETE", "/control/webhooks")).status).toBe(204);
    expect(await outbox()).toEqual([]);
  });
});
