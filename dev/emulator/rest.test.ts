import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_API_KEY, DEMO_APP_ID } from "./store";
import { ACCESS_LINK_BASE } from "./rest";
import { call, createApp, createRoom, createUser, decodeAndVerifyHs256, mint, resetEmulator, setClockOffset, setFaults, type TestApp } from "./testing";

let app: TestApp;

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
});

describe("apikey authentication on /v2", () => {
  it("refuses a request without the apikey header with 401 unauthorized", async () => {
    const answer = await call("GET", "/v2/users");
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ error: "unauthorized", message: expect.any(String) });
  });

  it("refuses a wrong key with 401 unauthorized", async () => {
    const answer = await call("GET", "/v2/users", { apiKey: "ak_test_not_a_key" });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe("unauthorized");
  });

  it("the key names the app: users of one app are invisible to another", async () => {
    const other = await createApp();
    await createUser(app, "alice");
    expect((await call("GET", "/v2/users/alice", { apiKey: other.apiKey })).status).toBe(404);
    expect((await call("GET", "/v2/users/alice", { apiKey: app.apiKey })).status).toBe(200);
  });

  it("the demo app mAppId_demo answers to ak_test_demo_key, also right after a reset", async () => {
    await resetEmulator();
    const answer = await call("POST", "/v2/users", { apiKey: DEMO_API_KEY, body: { user_id: "demo-user", role: "basic" } });
    expect(answer.status).toBe(201);
    expect((await call("GET", `/control/apps/${DEMO_APP_ID}`)).json).toMatchObject({ appId: DEMO_APP_ID, apiKey: DEMO_API_KEY });
  });

  it("is served under /emulator by the local composition (dev/index.ts)", async () => {
    const response = await SELF.fetch("http://local.test/emulator/v2/users", { headers: { apikey: app.apiKey } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ users: [], total: 0 });
  });
});

describe("POST /v2/users", () => {
  it("creates an active user and answers 201 with it", async () => {
    const answer = await call("POST", "/v2/users", { apiKey: app.apiKey, body: { user_id: "alice", role: "plus", name: "Alice" } });
    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject({ user_id: "alice", role: "plus", name: "Alice", active: true });
    expect(Date.parse(answer.json.created_at)).not.toBeNaN();
  });

  it("answers 409 user_already_exists for a duplicate and keeps the first user", async () => {
    await call("POST", "/v2/users", { apiKey: app.apiKey, body: { user_id: "alice", role: "plus", name: "First" } });
    const answer = await call("POST", "/v2/users", { apiKey: app.apiKey, body: { user_id: "alice", role: "basic" } });
    expect(answer.status).toBe(409);
    expect(answer.json.error).toBe("user_already_exists");
    expect((await call("GET", "/v2/users/alice", { apiKey: app.apiKey })).json).toMatchObject({ role: "plus", name: "First" });
  });

  it.each([
    ["a missing user_id", { role: "plus" }, "user_id"],
    ["a user_id with '#'", { user_id: "a#b", role: "plus" }, "user_id"],
    ["an unknown role", { user_id: "bob", role: "admin" }, "role"],
    ["an empty name", { user_id: "bob", role: "plus", name: "" }, "name"],
    ["an unknown field", { user_id: "bob", role: "plus", email: "x@y" }, "email"],
  ])("answers 400 bad_request for %s and creates nothing", async (_what, body, field) => {
    const answer = await call("POST", "/v2/users", { apiKey: app.apiKey, body });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: "bad_request", field });
    expect((await call("GET", "/v2/users", { apiKey: app.apiKey })).json.total).toBe(0);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const answer = await call("POST", "/v2/users", { apiKey: app.apiKey, rawBody: "{not json" });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: "bad_request", field: "body" });
  });
});

describe("GET /v2/users", () => {
  beforeEach(async () => {
    for (const id of ["u1", "u2", "u3", "u4", "u5"]) await createUser(app, id);
  });

  it("pages in creation order with offset and limit, and tells the total", async () => {
    const answer = await call("GET", "/v2/users?offset=1&limit=2", { apiKey: app.apiKey });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ total: 5, offset: 1, limit: 2 });
    expect(answer.json.users.map((u: { user_id: string }) => u.user_id)).toEqual(["u2", "u3"]);
  });

  it("defaults to offset 0 and limit 20", async () => {
    const answer = await call("GET", "/v2/users", { apiKey: app.apiKey });
    expect(answer.json).toMatchObject({ total: 5, offset: 0, limit: 20 });
    expect(answer.json.users).toHaveLength(5);
  });

  it.each(["limit=0", "limit=101", "limit=x", "offset=-1", "offset=1.5"])("answers 400 for %s", async (query) => {
    const answer = await call("GET", `/v2/users?${query}`, { apiKey: app.apiKey });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe("bad_request");
  });

  it("accepts limit 100, the largest", async () => {
    expect((await call("GET", "/v2/users?limit=100", { apiKey: app.apiKey })).status).toBe(200);
  });
});

describe("GET and PATCH /v2/users/:id", () => {
  it("answers 404 user_not_found for an unknown user", async () => {
    const answer = await call("GET", "/v2/users/nobody", { apiKey: app.apiKey });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("user_not_found");
  });

  it("deactivates and reactivates a user", async () => {
    await createUser(app, "alice");
    const off = await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect(off.status).toBe(200);
    expect(off.json.active).toBe(false);
    expect((await call("GET", "/v2/users/alice", { apiKey: app.apiKey })).json.active).toBe(false);
    const on = await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: true } });
    expect(on.json.active).toBe(true);
  });

  it.each([
    ["a non-boolean active", { active: "no" }],
    ["an empty body", {}],
    ["an unknown field", { active: false, banned: true }],
  ])("answers 400 for %s and leaves the user active", async (_what, body) => {
    await createUser(app, "alice");
    const answer = await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body });
    expect(answer.status).toBe(400);
    expect((await call("GET", "/v2/users/alice", { apiKey: app.apiKey })).json.active).toBe(true);
  });

  it("answers 404 when patching an unknown user", async () => {
    expect((await call("PATCH", "/v2/users/nobody", { apiKey: app.apiKey, body: { active: false } })).status).toBe(404);
  });
});

describe("POST /v2/sdk/credentials", () => {
  it("mints an HS256 JWT signed with the app's secret, with Kaleyra's claims", async () => {
    await createUser(app, "alice");
    const before = Math.floor(Date.now() / 1000);
    const answer = await call("POST", "/v2/sdk/credentials", { apiKey: app.apiKey, body: { user_id: "alice", expires_in: 3_600 } });
    expect(answer.status).toBe(200);
    expect(answer.json.user_id).toBe("alice");
    const { header, claims, signatureValid } = await decodeAndVerifyHs256(answer.json.access_token, app.signingSecret);
    expect(signatureValid).toBe(true);
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(claims).toMatchObject({ user: "alice", companyId: app.companyId, allowCamera: true, iss: "@switchboard-core", sub: `alice#${app.companyId}` });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(before + 5);
    expect(claims.exp - claims.iat).toBe(3_600);
    expect(answer.json.expires_at).toBe(new Date(claims.exp * 1000).toISOString());
  });

  it("the signature does not verify with another app's secret", async () => {
    await createUser(app, "alice");
    const other = await createApp();
    const { access_token } = await mint(app, "alice");
    expect((await decodeAndVerifyHs256(access_token, other.signingSecret)).signatureValid).toBe(false);
  });

  it("stamps iat and exp on the emulator's clock", async () => {
    await createUser(app, "alice");
    await setClockOffset(1_000_000_000);
    const { access_token } = await mint(app, "alice", 600);
    const { claims } = await decodeAndVerifyHs256(access_token, app.signingSecret);
    expect(claims.iat).toBeGreaterThanOrEqual(Math.floor((Date.now() + 1_000_000_000) / 1000) - 5);
    expect(claims.exp - claims.iat).toBe(600);
  });

  it.each([359, 86_401, 3.5, "3600", null])("answers 400 for expires_in %s", async (expiresIn) => {
    await createUser(app, "alice");
    const answer = await call("POST", "/v2/sdk/credentials", { apiKey: app.apiKey, body: { user_id: "alice", expires_in: expiresIn } });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: "bad_request", field: "expires_in" });
  });

  it.each([360, 86_400])("accepts expires_in %s, a bound", async (expiresIn) => {
    await createUser(app, "alice");
    const { access_token } = await mint(app, "alice", expiresIn);
    const { claims } = await decodeAndVerifyHs256(access_token, app.signingSecret);
    expect(claims.exp - claims.iat).toBe(expiresIn);
  });

  it("answers 404 user_not_found for an unknown user", async () => {
    const answer = await call("POST", "/v2/sdk/credentials", { apiKey: app.apiKey, body: { user_id: "ghost", expires_in: 3_600 } });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("user_not_found");
  });

  it("the tokenLifetimeSec fault overrides expires_in", async () => {
    await createUser(app, "alice");
    await setFaults({ tokenLifetimeSec: 2 });
    const { access_token } = await mint(app, "alice", 3_600);
    const { claims } = await decodeAndVerifyHs256(access_token, app.signingSecret);
    expect(claims.exp - claims.iat).toBe(2);
  });
});

describe("rooms", () => {
  it("POST /v2/rooms answers 201 with a url-safe access link per participant", async () => {
    await createUser(app, "alice");
    await createUser(app, "bob");
    const answer = await call("POST", "/v2/rooms", { apiKey: app.apiKey, body: { participants: [{ user_id: "alice" }, { user_id: "bob" }] } });
    expect(answer.status).toBe(201);
    expect(answer.json.room_id).toEqual(expect.any(String));
    expect(answer.json.participants.map((p: { user_id: string }) => p.user_id)).toEqual(["alice", "bob"]);
    const links: string[] = answer.json.participants.map((p: { access_link: string }) => p.access_link);
    for (const link of links) {
      expect(link.startsWith(ACCESS_LINK_BASE)).toBe(true);
      expect(link.slice(ACCESS_LINK_BASE.length)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
    expect(new Set(links).size).toBe(2);
  });

  it.each([
    ["no participants", { participants: [] }],
    ["a participant without user_id", { participants: [{}] }],
    ["a participant listed twice", { participants: [{ user_id: "alice" }, { user_id: "alice" }] }],
    ["a participant with an extra field", { participants: [{ user_id: "alice", admin: true }] }],
  ])("answers 400 for %s", async (_what, body) => {
    await createUser(app, "alice");
    const answer = await call("POST", "/v2/rooms", { apiKey: app.apiKey, body });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe("bad_request");
  });

  it("answers 404 user_not_found for a participant who does not exist", async () => {
    const answer = await call("POST", "/v2/rooms", { apiKey: app.apiKey, body: { participants: [{ user_id: "ghost" }] } });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("user_not_found");
  });

  it("POST /v2/rooms/:id/end ends the room once; a second end answers 409", async () => {
    await createUser(app, "alice");
    const room = await createRoom(app, ["alice"]);
    const ended = await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(ended.status).toBe(200);
    expect(ended.json).toMatchObject({ room_id: room.room_id, status: "ended" });
    expect((await call("GET", `/v2/rooms/${room.room_id}`, { apiKey: app.apiKey })).json.status).toBe("ended");
    const again = await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe("room_already_ended");
  });

  it("answers 404 room_not_found for another app's room", async () => {
    await createUser(app, "alice");
    const room = await createRoom(app, ["alice"]);
    const other = await createApp();
    const answer = await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: other.apiKey });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("room_not_found");
  });
});

describe("unknown paths", () => {
  it("answer 404 not_found in JSON", async () => {
    const answer = await call("GET", "/v2/nothing", { apiKey: app.apiKey });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("not_found");
  });
});
