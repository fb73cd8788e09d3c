import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_FAULTS, DEFAULT_REALTIME_FAULTS } from "./faults";
import { DEMO_API_KEY, DEMO_APP_ID } from "./store";
import { call, createApp, createRoom, createUser, resetEmulator, setFaults } from "./testing";

beforeEach(async () => {
  await resetEmulator();
});

describe("POST /control/apps", () => {
  it("creates an app with a generated ak_test_ key, a companyId and a signing secret", async () => {
    const answer = await call("POST", "/control/apps", { body: { appId: "mAppId_shop" } });
    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject({ appId: "mAppId_shop", apiKey: expect.stringMatching(/^ak_test_[0-9a-f]{32}$/), companyId: expect.any(String), webhookUrl: null });
    expect(answer.json.signingSecret.length).toBeGreaterThanOrEqual(32);
    const users = await call("GET", "/v2/users", { apiKey: answer.json.apiKey });
    expect(users.status).toBe(200);
  });

  it("takes the API key and signing secret it is given", async () => {
    const answer = await call("POST", "/control/apps", { body: { appId: "mAppId_given", apiKey: "ak_test_given_key_1", signingSecret: "0123456789abcdef0123" } });
    expect(answer.json).toMatchObject({ apiKey: "ak_test_given_key_1", signingSecret: "0123456789abcdef0123" });
  });

  it("answers 409 for an existing app id and for a key another app holds", async () => {
    await call("POST", "/control/apps", { body: { appId: "mAppId_one", apiKey: "ak_test_shared_key" } });
    const sameId = await call("POST", "/control/apps", { body: { appId: "mAppId_one" } });
    expect(sameId.status).toBe(409);
    expect(sameId.json.error).toBe("app_already_exists");
    const sameKey = await call("POST", "/control/apps", { body: { appId: "mAppId_two", apiKey: "ak_test_shared_key" } });
    expect(sameKey.status).toBe(409);
    expect(sameKey.json.error).toBe("api_key_in_use");
    expect((await call("GET", "/control/apps/mAppId_two")).status).toBe(404);
  });

  it.each([
    ["an app id of the wrong shape", { appId: "shop" }, "appId"],
    ["a key of the wrong shape", { appId: "mAppId_x", apiKey: "secret" }, "apiKey"],
    ["a short signing secret", { appId: "mAppId_x", signingSecret: "short" }, "signingSecret"],
    ["an unknown field", { appId: "mAppId_x", region: "eu" }, "region"],
  ])("answers 400 for %s and creates nothing", async (_what, body, field) => {
    const answer = await call("POST", "/control/apps", { body });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: "bad_request", field });
    expect((await call("GET", "/control/apps/mAppId_x")).status).toBe(404);
  });
});

describe("PUT /control/apps/:appId/webhook", () => {
  it("sets and clears the app's webhook URL", async () => {
    const app = await createApp();
    const set = await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: "https://hooks.test/a" } });
    expect(set.json.webhookUrl).toBe("https://hooks.test/a");
    expect((await call("GET", `/control/apps/${app.appId}`)).json.webhookUrl).toBe("https://hooks.test/a");
    await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: null } });
    expect((await call("GET", `/control/apps/${app.appId}`)).json.webhookUrl).toBeNull();
  });

  it("answers 400 for a URL that is not http(s), and 404 for an unknown app", async () => {
    const app = await createApp();
    const bad = await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: "ftp://x" } });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe("url");
    expect((await call("PUT", "/control/apps/mAppId_none/webhook", { body: { url: "https://x.test" } })).status).toBe(404);
  });
});

describe("/control/faults", () => {
  it("starts with no faults", async () => {
    expect((await call("GET", "/control/faults")).json).toEqual(DEFAULT_FAULTS);
  });

  it("PUT replaces the faults; fields left out take their defaults", async () => {
    await setFaults({ outage: "refuse", latencyMs: 10, errorRate: 0.5, tokenLifetimeSec: 30 });
    expect((await call("GET", "/control/faults")).json).toEqual({ outage: "refuse", latencyMs: 10, errorRate: 0.5, tokenLifetimeSec: 30 });
    await setFaults({ latencyMs: 5 });
    expect((await call("GET", "/control/faults")).json).toEqual({ ...DEFAULT_FAULTS, latencyMs: 5 });
  });

  it.each([
    [{ outage: "sometimes" }, "outage"],
    [{ latencyMs: -1 }, "latencyMs"],
    [{ latencyMs: 30_001 }, "latencyMs"],
    [{ errorRate: 1.5 }, "errorRate"],
    [{ errorRate: "0.5" }, "errorRate"],
    [{ tokenLifetimeSec: 0 }, "tokenLifetimeSec"],
    [{ chaos: true }, "chaos"],
  ])("answers 400 for %j and keeps the faults", async (body, field) => {
    await setFaults({ latencyMs: 7 });
    const answer = await call("PUT", "/control/faults", { body });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: "bad_request", field });
    expect((await call("GET", "/control/faults")).json.latencyMs).toBe(7);
  });
});

describe("/control/realtime", () => {
  it("starts with Socket.IO's default heartbeat and no faults; PUT replaces, reset restores", async () => {
    expect((await call("GET", "/control/realtime")).json).toEqual(DEFAULT_REALTIME_FAULTS);
    const set = await call("PUT", "/control/realtime", { body: { pingIntervalMs: 100, connectRefusal: "app_id_invalid" } });
    expect(set.json).toEqual({ ...DEFAULT_REALTIME_FAULTS, pingIntervalMs: 100, connectRefusal: "app_id_invalid" });
    await call("PUT", "/control/realtime", { body: { stopPinging: true } });
    expect((await call("GET", "/control/realtime")).json).toEqual({ ...DEFAULT_REALTIME_FAULTS, stopPinging: true });
    await call("POST", "/control/reset");
    expect((await call("GET", "/control/realtime")).json).toEqual(DEFAULT_REALTIME_FAULTS);
  });

  it.each([
    [{ pingIntervalMs: 10 }, "pingIntervalMs"],
    [{ pingTimeoutMs: 300_001 }, "pingTimeoutMs"],
    [{ connectRefusal: "Not Authorized" }, "connectRefusal"],
    [{ tokenUpdateRefusal: 5 }, "tokenUpdateRefusal"],
    [{ connectHang: "yes" }, "connectHang"],
    [{ chaos: true }, "chaos"],
  ])("answers 400 for %j and keeps the settings", async (body, field) => {
    await call("PUT", "/control/realtime", { body: { pingIntervalMs: 70 } });
    const answer = await call("PUT", "/control/realtime", { body });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: "bad_request", field });
    expect((await call("GET", "/control/realtime")).json.pingIntervalMs).toBe(70);
  });
});

describe("/control/connections", () => {
  it("refuses emit and drop for an unknown app or a bad body", async () => {
    expect((await call("POST", "/control/connections/emit", { body: { appId: "mAppId_none", userId: "a", event: "expired" } })).status).toBe(404);
    const app = await createApp();
    expect((await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "a", event: "expired", data: [1] } })).json.field).toBe("data");
    expect((await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "a", event: "expired" } })).json).toEqual({ event: "switchboard:access_token:expired", delivered: 0 });
    expect((await call("POST", "/control/connections/drop", { body: { appId: app.appId, userId: 3 } })).status).toBe(400);
    expect((await call("GET", "/control/connections")).json).toEqual({ connections: [] });
  });
});

describe("/control/clock", () => {
  it("moves the emulator's now by offsetMs", async () => {
    const set = await call("PUT", "/control/clock", { body: { offsetMs: 86_400_000 } });
    expect(set.status).toBe(200);
    const clock = (await call("GET", "/control/clock")).json;
    expect(clock.offsetMs).toBe(86_400_000);
    expect(clock.now - Date.now()).toBeGreaterThan(86_400_000 - 5_000);
  });

  it.each([1.5, "10", null, 11 * 365 * 86_400_000])("answers 400 for offsetMs %s and keeps the clock", async (offsetMs) => {
    await call("PUT", "/control/clock", { body: { offsetMs: 1_000 } });
    const answer = await call("PUT", "/control/clock", { body: { offsetMs } });
    expect(answer.status).toBe(400);
    expect((await call("GET", "/control/clock")).json.offsetMs).toBe(1_000);
  });
});

describe("POST /control/reset", () => {
  it("drops apps, users, faults, clock and outbox, and brings back the demo app", async () => {
    const app = await createApp();
    await createUser(app, "alice");
    await setFaults({ latencyMs: 3 });
    await call("PUT", "/control/clock", { body: { offsetMs: 5_000 } });
    const room = await createRoom(app, ["alice"]);
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect((await call("GET", "/control/webhooks")).json.webhooks).toHaveLength(1);

    expect((await call("POST", "/control/reset")).status).toBe(204);
    expect((await call("GET", `/control/apps/${app.appId}`)).status).toBe(404);
    expect((await call("GET", "/v2/users", { apiKey: app.apiKey })).status).toBe(401);
    expect((await call("GET", "/control/faults")).json).toEqual(DEFAULT_FAULTS);
    expect((await call("GET", "/control/clock")).json.offsetMs).toBe(0);
    expect((await call("GET", "/control/webhooks")).json.webhooks).toEqual([]);
    expect((await call("GET", `/control/apps/${DEMO_APP_ID}`)).json.apiKey).toBe(DEMO_API_KEY);
  });
});

describe("the root", () => {
  it("names the emulator and its demo app", async () => {
    expect((await call("GET", "/")).json).toMatchObject({ name: "kaleyra-emulator", demo: { appId: DEMO_APP_ID, apiKey: DEMO_API_KEY } });
  });
});
