import { beforeEach, describe, expect, it } from "vitest";
import { decodeJwt } from "../jwt";
import { EMULATOR_ISSUER } from "./rest";
import { call, createApp, createRoom, createUser, forgeHs256, mint, resetEmulator, setClockOffset, type TestApp } from "./testing";

let app: TestApp;

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
  await createUser(app, "bob");
});

const open = (body: Record<string, unknown>) => call("POST", "/realtime/v1/sessions", { body });

describe("POST /realtime/v1/sessions with an access token", () => {
  it("opens a session for the token's user, expiring with the token (ms epoch)", async () => {
    const { access_token, expires_at } = await mint(app, "alice");
    const answer = await open({ app_id: app.appId, user_id: "alice", access_token });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ session_id: expect.any(String), user_id: "alice", kind: "token", expires_at: Date.parse(expires_at) });
    expect(answer.json).not.toHaveProperty("room_id");
  });

  it("accepts a token without user_id", async () => {
    const { access_token } = await mint(app, "alice");
    expect((await open({ app_id: app.appId, access_token })).json.user_id).toBe("alice");
  });

  it("answers 401 access_token_expired once the emulator's clock passes exp", async () => {
    const { access_token } = await mint(app, "alice", 360);
    await setClockOffset(359_000);
    expect((await open({ app_id: app.appId, access_token })).status).toBe(200);
    await setClockOffset(360_000);
    const answer = await open({ app_id: app.appId, access_token });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe("access_token_expired");
  });

  it("answers 401 access_token_invalid for a malformed token", async () => {
    const answer = await open({ app_id: app.appId, access_token: "not.a.jwt" });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe("access_token_invalid");
  });

  it("answers 401 access_token_invalid for a token of another app (bad signature)", async () => {
    const other = await createApp();
    await createUser(other, "alice");
    const { access_token } = await mint(other, "alice");
    const answer = await open({ app_id: app.appId, access_token });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe("access_token_invalid");
  });

  it("answers 401 access_token_invalid for a tampered token", async () => {
    const { access_token } = await mint(app, "alice");
    const [h, c, s] = access_token.split(".");
    const claims = JSON.parse(atob((c ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...claims, exp: claims.exp + 86_400 })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const tampered = `${h}.${forged}.${s}`;
    expect(decodeJwt(tampered)?.claims.exp).toBe(claims.exp + 86_400);
    expect((await open({ app_id: app.appId, access_token: tampered })).json.error).toBe("access_token_invalid");
  });

  it("answers 401 access_token_invalid for alg none and for a wrong issuer", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { user: "alice", companyId: app.companyId, iat: now, exp: now + 600, iss: EMULATOR_ISSUER, sub: `alice#${app.companyId}` };
    const none = await forgeHs256(claims, app.signingSecret, { alg: "none" });
    expect((await open({ app_id: app.appId, access_token: none })).json.error).toBe("access_token_invalid");
    const wrongIssuer = await forgeHs256({ ...claims, iss: "https://elsewhere.example" }, app.signingSecret);
    expect((await open({ app_id: app.appId, access_token: wrongIssuer })).json.error).toBe("access_token_invalid");
    expect((await open({ app_id: app.appId, access_token: await forgeHs256(claims, app.signingSecret) })).status).toBe(200);
  });

  it("answers 401 access_token_invalid_user for another user's token", async () => {
    const { access_token } = await mint(app, "bob");
    const answer = await open({ app_id: app.appId, user_id: "alice", access_token });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe("access_token_invalid_user");
  });

  it("answers 401 access_token_invalid_user when sub does not match user#companyId", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forgeHs256(
      { user: "alice", companyId: app.companyId, iat: now, exp: now + 600, iss: EMULATOR_ISSUER, sub: `bob#${app.companyId}` },
      app.signingSecret,
    );
    expect((await open({ app_id: app.appId, access_token: token })).json.error).toBe("access_token_invalid_user");
  });

  it("answers 404 user_not_found for a validly signed token of an unknown user", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forgeHs256(
      { user: "ghost", companyId: app.companyId, iat: now, exp: now + 600, iss: EMULATOR_ISSUER, sub: `ghost#${app.companyId}` },
      app.signingSecret,
    );
    const answer = await open({ app_id: app.appId, access_token: token });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("user_not_found");
  });

  it("answers 403 user_inactive for a deactivated user", async () => {
    const { access_token } = await mint(app, "alice");
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    const answer = await open({ app_id: app.appId, user_id: "alice", access_token });
    expect(answer.status).toBe(403);
    expect(answer.json.error).toBe("user_inactive");
  });

  it("answers 404 app_id_invalid for an unknown app", async () => {
    const { access_token } = await mint(app, "alice");
    const answer = await open({ app_id: "mAppId_unknown", access_token });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("app_id_invalid");
  });

  it.each([
    ["no credential", { app_id: "mAppId_x" }],
    ["both credentials", { app_id: "mAppId_x", access_token: "a", access_link: "https://x/direct-rest-call-handler/abc" }],
    ["no app_id", { access_token: "a" }],
    ["a numeric token", { app_id: "mAppId_x", access_token: 5 }],
    ["user_id with a link", { app_id: "mAppId_x", user_id: "alice", access_link: "https://x/direct-rest-call-handler/abc" }],
    ["an unknown field", { app_id: "mAppId_x", access_token: "a", extra: 1 }],
  ])("answers 400 bad_request for %s", async (_what, body) => {
    const answer = await open(body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe("bad_request");
  });
});

describe("POST /realtime/v1/sessions with an access link", () => {
  it("opens a session for the link's participant, without expiry", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    const bobLink = room.participants[1]?.access_link;
    const answer = await open({ app_id: app.appId, access_link: bobLink });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ user_id: "bob", kind: "access_link", room_id: room.room_id });
    expect(answer.json).not.toHaveProperty("expires_at");
  });

  it("answers 404 invalid_access_link once the room ended", async () => {
    const room = await createRoom(app, ["alice"]);
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    const answer = await open({ app_id: app.appId, access_link: room.participants[0]?.access_link });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("invalid_access_link");
  });

  it.each([
    ["an unknown code", "https://sandbox.bandyer.com/eu/direct-rest-call-handler/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a string that is not a URL", "not a link"],
    ["a URL of another shape", "https://sandbox.bandyer.com/eu/somewhere"],
  ])("answers 404 invalid_access_link for %s", async (_what, link) => {
    const answer = await open({ app_id: app.appId, access_link: link });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("invalid_access_link");
  });

  it("answers 404 invalid_access_link for a link of another app", async () => {
    const room = await createRoom(app, ["alice"]);
    const other = await createApp();
    expect((await open({ app_id: other.appId, access_link: room.participants[0]?.access_link })).json.error).toBe("invalid_access_link");
  });

  it("answers 403 user_inactive for a deactivated participant", async () => {
    const room = await createRoom(app, ["alice"]);
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    const answer = await open({ app_id: app.appId, access_link: room.participants[0]?.access_link });
    expect(answer.status).toBe(403);
    expect(answer.json.error).toBe("user_inactive");
  });
});

describe("GET and DELETE /realtime/v1/sessions/:id", () => {
  it("GET answers the open session, then 401 access_token_expired once its token expired", async () => {
    const { access_token } = await mint(app, "alice", 600);
    const opened = (await open({ app_id: app.appId, access_token })).json;
    const ok = await call("GET", `/realtime/v1/sessions/${opened.session_id}`);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual(opened);
    await setClockOffset(600_000);
    const expired = await call("GET", `/realtime/v1/sessions/${opened.session_id}`);
    expect(expired.status).toBe(401);
    expect(expired.json.error).toBe("access_token_expired");
  });

  it("GET answers 403 user_inactive after the user was deactivated", async () => {
    const { access_token } = await mint(app, "alice");
    const { session_id } = (await open({ app_id: app.appId, access_token })).json;
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect((await call("GET", `/realtime/v1/sessions/${session_id}`)).json.error).toBe("user_inactive");
  });

  it("GET answers 404 invalid_access_link after the link's room ended", async () => {
    const room = await createRoom(app, ["alice"]);
    const { session_id } = (await open({ app_id: app.appId, access_link: room.participants[0]?.access_link })).json;
    expect((await call("GET", `/realtime/v1/sessions/${session_id}`)).status).toBe(200);
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    const answer = await call("GET", `/realtime/v1/sessions/${session_id}`);
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("invalid_access_link");
  });

  it("DELETE closes the session (204); GET then answers 404 session_not_found", async () => {
    const { access_token } = await mint(app, "alice");
    const { session_id } = (await open({ app_id: app.appId, access_token })).json;
    const closed = await call("DELETE", `/realtime/v1/sessions/${session_id}`);
    expect(closed.status).toBe(204);
    const answer = await call("GET", `/realtime/v1/sessions/${session_id}`);
    expect(answer.status).toBe(404);
    expect(answer.json.error).toBe("session_not_found");
  });

  it("GET and DELETE answer 404 session_not_found for an unknown id", async () => {
    expect((await call("GET", "/realtime/v1/sessions/rs_nope")).json.error).toBe("session_not_found");
    expect((await call("DELETE", "/realtime/v1/sessions/rs_nope")).status).toBe(404);
  });
});
