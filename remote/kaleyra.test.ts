import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ENVIRONMENTS, REGIONS, type Environment, type Region } from "../core/app";
import type { Credential } from "../core/session";
import { EMULATOR_ISSUER } from "./emulator/rest";
import {
  call,
  createApp,
  createRoom,
  createUser,
  decodeAndVerifyHs256,
  emulatorFetch,
  forgeHs256,
  mint,
  resetEmulator,
  setClockOffset,
  setFaults,
  type TestApp,
} from "./emulator/testing";
import { FakeRemote } from "./fake";
import { createRemote, EMULATOR_BASE_URL } from "./index";
import { KaleyraAdapter, kaleyraBaseUrl, openErrorFor } from "./kaleyra";
import type { OpenSessionRequest } from "./port";

const BASE = "http://emulator.local";

interface Exchange {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  status?: number;
  answer?: string;
}

let app: TestApp;
let exchanges: Exchange[];

/** Routes the adapter to the emulator object and records every exchange. */
function recordingFetch(request: Request): Promise<Response> {
  return (async () => {
    const body = await request.clone().text();
    const entry: Exchange = { method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body };
    exchanges.push(entry);
    const response = await emulatorFetch(request);
    entry.status = response.status;
    entry.answer = await response.clone().text();
    return response;
  })();
}

function adapter(timeoutMs = 2_000): KaleyraAdapter {
  return new KaleyraAdapter({ baseUrl: BASE, fetch: recordingFetch, timeoutMs });
}

function request(credential: Credential): OpenSessionRequest {
  return { appId: app.appId, environment: "sandbox", region: "eu", credential, now: Date.now() };
}

const token = (userId: string, value: string): Credential => ({ kind: "token", userId, token: value });
const link = (accessLink: string): Credential => ({ kind: "access_link", accessLink });

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
  await createUser(app, "bob");
  exchanges = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await resetEmulator();
});

describe("openSession with an access token, against the emulator", () => {
  it("opens with a minted token: ok, the user, and the token's expiry in ms", async () => {
    const { access_token } = await mint(app, "alice", 3_600);
    const { claims } = await decodeAndVerifyHs256(access_token, app.signingSecret);
    const result = await adapter().openSession(request(token("alice", access_token)));
    expect(result).toEqual({ ok: true, userId: "alice", expiresAt: claims.exp * 1000, sessionId: expect.stringMatching(/^rs_/) });
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({ method: "POST", url: `${BASE}/realtime/v1/sessions`, status: 200 });
    expect(JSON.parse(exchanges[0]?.body ?? "")).toEqual({ app_id: app.appId, user_id: "alice", access_token });
  });

  it("answers token_expired for an expired token", async () => {
    const { access_token } = await mint(app, "alice", 360);
    await setClockOffset(361_000);
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "token_expired" });
  });

  it("answers token_invalid for a malformed token and for one signed with another secret", async () => {
    expect(await adapter().openSession(request(token("alice", "garbage")))).toEqual({ ok: false, error: "token_invalid" });
    const now = Math.floor(Date.now() / 1000);
    const forged = await forgeHs256(
      { user: "alice", companyId: app.companyId, iat: now, exp: now + 600, iss: EMULATOR_ISSUER, sub: `alice#${app.companyId}` },
      "not-the-apps-secret-at-all",
    );
    expect(await adapter().openSession(request(token("alice", forged)))).toEqual({ ok: false, error: "token_invalid" });
  });

  it("answers token_invalid for another user's token", async () => {
    const { access_token } = await mint(app, "bob");
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "token_invalid" });
    expect(exchanges[0]?.answer).toContain("access_token_invalid_user");
  });

  it("answers token_invalid for a well-signed token of a user Kaleyra does not know (user_not_found)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ghost = await forgeHs256(
      { user: "ghost", companyId: app.companyId, iat: now, exp: now + 600, iss: EMULATOR_ISSUER, sub: `ghost#${app.companyId}` },
      app.signingSecret,
    );
    expect(await adapter().openSession(request(token("ghost", ghost)))).toEqual({ ok: false, error: "token_invalid" });
    expect(exchanges[0]?.answer).toContain("user_not_found");
  });

  it("answers user_inactive for a deactivated user", async () => {
    const { access_token } = await mint(app, "alice");
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "user_inactive" });
  });

  it("answers unavailable for an app Kaleyra does not know (app_id_invalid)", async () => {
    const { access_token } = await mint(app, "alice");
    const result = await adapter().openSession({ ...request(token("alice", access_token)), appId: "mAppId_unknown" });
    expect(result).toEqual({ ok: false, error: "unavailable" });
    expect(exchanges[0]?.answer).toContain("app_id_invalid");
  });
});

describe("openSession with an access link, against the emulator", () => {
  it("opens with a valid link: ok, the participant, no expiry", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    const result = await adapter().openSession(request(link(room.participants[1]?.access_link ?? "")));
    // No expiry for a link; the room id lets the room-ended webhook find the session.
    expect(result).toEqual({ ok: true, userId: "bob", sessionId: expect.stringMatching(/^rs_/), roomId: room.room_id });
    expect(JSON.parse(exchanges[0]?.body ?? "")).toEqual({ app_id: app.appId, access_link: room.participants[1]?.access_link });
  });

  it("answers invalid_access_link once the room ended", async () => {
    const room = await createRoom(app, ["alice"]);
    const accessLink = room.participants[0]?.access_link ?? "";
    expect((await adapter().openSession(request(link(accessLink)))).ok).toBe(true);
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(await adapter().openSession(request(link(accessLink)))).toEqual({ ok: false, error: "invalid_access_link" });
  });

  it("answers invalid_access_link for a link that was never issued", async () => {
    const result = await adapter().openSession(request(link("https://sandbox.bandyer.com/eu/direct-rest-call-handler/neverIssued")));
    expect(result).toEqual({ ok: false, error: "invalid_access_link" });
  });
});

describe("openSession when Kaleyra fails", () => {
  it("answers unavailable during an outage (503)", async () => {
    const { access_token } = await mint(app, "alice");
    await setFaults({ outage: "refuse" });
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "unavailable" });
    expect(exchanges[0]?.status).toBe(503);
  });

  it("answers unavailable for injected 5xx errors (errorRate 1)", async () => {
    const { access_token } = await mint(app, "alice");
    await setFaults({ errorRate: 1 });
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "unavailable" });
  });

  it("answers unavailable within timeoutMs when Kaleyra hangs", async () => {
    const { access_token } = await mint(app, "alice");
    await setFaults({ outage: "hang" });
    const started = Date.now();
    const result = await adapter(150).openSession(request(token("alice", access_token)));
    const elapsed = Date.now() - started;
    expect(result).toEqual({ ok: false, error: "unavailable" });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2_000);
  });

  it("answers unavailable, never throws, when the network fails", async () => {
    const broken = new KaleyraAdapter({ baseUrl: BASE, fetch: () => Promise.reject(new TypeError("network down")) });
    expect(await broken.openSession(request(token("alice", "t")))).toEqual({ ok: false, error: "unavailable" });
    const throwing = new KaleyraAdapter({
      baseUrl: BASE,
      fetch: () => {
        throw new Error("sync failure");
      },
    });
    expect(await throwing.openSession(request(token("alice", "t")))).toEqual({ ok: false, error: "unavailable" });
  });

  it.each([
    ["an HTML page", 200, "<html>maintenance</html>"],
    ["JSON without a session id", 200, JSON.stringify({ user_id: "alice" })],
    ["a non-numeric expires_at", 200, JSON.stringify({ session_id: "s", user_id: "alice", expires_at: "soon" })],
    ["a 502 naming a token error", 502, JSON.stringify({ error: "access_token_expired" })],
    ["a 400 with an unknown error", 400, JSON.stringify({ error: "something_new" })],
    ["a 401 without a body", 401, ""],
  ])("answers unavailable for %s", async (_what, status, body) => {
    const fixed = new KaleyraAdapter({ baseUrl: BASE, fetch: async () => new Response(body, { status }) });
    expect(await fixed.openSession(request(token("alice", "t")))).toEqual({ ok: false, error: "unavailable" });
  });

  it("answers token_invalid when Kaleyra opens the session for another user than asked", async () => {
    const fixed = new KaleyraAdapter({ baseUrl: BASE, fetch: async () => Response.json({ session_id: "s", user_id: "mallory" }) });
    expect(await fixed.openSession(request(token("alice", "t")))).toEqual({ ok: false, error: "token_invalid" });
  });
});

describe("the error table", () => {
  it.each([
    [401, "access_token_expired", "token_expired"],
    [401, "access_token_invalid", "token_invalid"],
    [401, "access_token_invalid_user", "token_invalid"],
    [404, "user_not_found", "token_invalid"],
    [403, "user_inactive", "user_inactive"],
    [404, "invalid_access_link", "invalid_access_link"],
    [404, "app_id_invalid", "unavailable"],
    [401, "toString", "unavailable"],
    [500, "access_token_invalid", "unavailable"],
    [503, "unavailable", "unavailable"],
  ])("%s %s -> %s", (status, error, expected) => {
    expect(openErrorFor(status, { error })).toBe(expected);
  });
});

describe("closeSession", () => {
  async function sessionIdOfLastOpen(): Promise<string> {
    const opened = exchanges.filter((e) => e.method === "POST" && e.status === 200).pop();
    return JSON.parse(opened?.answer ?? "{}").session_id;
  }

  it("closes the session it opened for the app and user", async () => {
    const remote = adapter();
    const { access_token } = await mint(app, "alice");
    await remote.openSession(request(token("alice", access_token)));
    const sessionId = await sessionIdOfLastOpen();
    expect((await call("GET", `/realtime/v1/sessions/${sessionId}`)).status).toBe(200);
    await remote.closeSession({ appId: app.appId, userId: "alice" });
    expect(exchanges.at(-1)).toMatchObject({ method: "DELETE", url: `${BASE}/realtime/v1/sessions/${sessionId}`, status: 204 });
    expect((await call("GET", `/realtime/v1/sessions/${sessionId}`)).json.error).toBe("session_not_found");
  });

  it("closes a session by the id the caller kept", async () => {
    const { access_token } = await mint(app, "alice");
    const opened = (await call("POST", "/realtime/v1/sessions", { body: { app_id: app.appId, access_token } })).json;
    await adapter().closeSession({ appId: app.appId, sessionId: opened.session_id });
    expect((await call("GET", `/realtime/v1/sessions/${opened.session_id}`)).status).toBe(404);
  });

  it("sends nothing when it knows no session", async () => {
    await adapter().closeSession({ appId: app.appId, userId: "alice" });
    expect(exchanges).toEqual([]);
  });

  it("is best effort: an outage or a hang neither throws nor outlasts the timeout", async () => {
    const remote = adapter(150);
    const { access_token } = await mint(app, "alice");
    await remote.openSession(request(token("alice", access_token)));
    await setFaults({ outage: "refuse" });
    await expect(remote.closeSession({ appId: app.appId, userId: "alice" })).resolves.toBeUndefined();
    await setFaults({ outage: "hang" });
    const started = Date.now();
    await expect(remote.closeSession({ appId: app.appId, sessionId: "rs_any" })).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("mintAccessToken against the emulator", () => {
  const mintRequest = (apiKey: string, userId = "alice", expiresInSec = 3_600) =>
    ({ environment: "sandbox", region: "eu", apiKey, userId, expiresInSec }) as const;

  it("mints a token for the user with the apikey header; expiresAt is expires_at in ms", async () => {
    const result = await adapter().mintAccessToken(mintRequest(app.apiKey));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { claims, signatureValid } = await decodeAndVerifyHs256(result.token, app.signingSecret);
    expect(signatureValid).toBe(true);
    expect(claims.user).toBe("alice");
    expect(result.expiresAt).toBe(claims.exp * 1000);
    expect(exchanges[0]).toMatchObject({ method: "POST", url: `${BASE}/v2/sdk/credentials`, status: 200 });
    expect(exchanges[0]?.headers.apikey).toBe(app.apiKey);
    expect(JSON.parse(exchanges[0]?.body ?? "")).toEqual({ user_id: "alice", expires_in: 3_600 });
    expect(await adapter().openSession(request(token("alice", result.token)))).toMatchObject({ ok: true, userId: "alice" });
  });

  it("answers unauthorized for a wrong key", async () => {
    expect(await adapter().mintAccessToken(mintRequest("ak_test_wrong_key_123"))).toEqual({ ok: false, error: "unauthorized" });
    expect(exchanges[0]?.status).toBe(401);
  });

  it.each(["", "ak test key", "ak_test_\nkey"])("answers unauthorized for the malformed key %j without calling Kaleyra", async (apiKey) => {
    expect(await adapter().mintAccessToken(mintRequest(apiKey))).toEqual({ ok: false, error: "unauthorized" });
    expect(exchanges).toEqual([]);
  });

  it("answers user_not_found for an unknown user", async () => {
    expect(await adapter().mintAccessToken(mintRequest(app.apiKey, "ghost"))).toEqual({ ok: false, error: "user_not_found" });
  });

  it.each([
    ["expiresInSec below 360", mintRequest("ak_test_k", "alice", 359)],
    ["expiresInSec above 86400", mintRequest("ak_test_k", "alice", 86_401)],
    ["a fractional expiresInSec", mintRequest("ak_test_k", "alice", 400.5)],
    ["a user id with '#'", mintRequest("ak_test_k", "a#b")],
  ])("answers invalid_request for %s without calling Kaleyra", async (_what, req) => {
    expect(await adapter().mintAccessToken(req)).toEqual({ ok: false, error: "invalid_request" });
    expect(exchanges).toEqual([]);
  });

  it("answers unavailable during an outage and when Kaleyra hangs past the timeout", async () => {
    await setFaults({ outage: "refuse" });
    expect(await adapter().mintAccessToken(mintRequest(app.apiKey))).toEqual({ ok: false, error: "unavailable" });
    await setFaults({ outage: "hang" });
    expect(await adapter(100).mintAccessToken(mintRequest(app.apiKey))).toEqual({ ok: false, error: "unavailable" });
  });

  it("falls back to the token's exp when expires_at cannot be read", async () => {
    const exp = Math.floor(Date.now() / 1000) + 900;
    const jwt = await forgeHs256({ user: "alice", exp }, "s");
    const fixed = new KaleyraAdapter({ baseUrl: BASE, fetch: async () => Response.json({ access_token: jwt, expires_at: "later", user_id: "alice" }) });
    expect(await fixed.mintAccessToken(mintRequest("ak_test_k"))).toEqual({ ok: true, token: jwt, expiresAt: exp * 1000 });
  });
});

describe("secrets stay out of logs", () => {
  it("logs neither tokens, access links nor API keys, even when calls fail", async () => {
    const logged: unknown[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(...args));
    }
    const { access_token } = await mint(app, "alice");
    const broken = new KaleyraAdapter({ baseUrl: BASE, fetch: () => Promise.reject(new Error("down")) });
    await broken.openSession(request(token("alice", access_token)));
    await broken.mintAccessToken({ environment: "sandbox", region: "eu", apiKey: app.apiKey, userId: "alice", expiresInSec: 600 });
    await adapter().openSession(request(link("https://sandbox.bandyer.com/eu/direct-rest-call-handler/secretCode")));
    await adapter().mintAccessToken({ environment: "sandbox", region: "eu", apiKey: "ak_test_wrong_key_123", userId: "alice", expiresInSec: 600 });
    const text = JSON.stringify(logged.map(String));
    for (const secret of [access_token, app.apiKey, "secretCode", "ak_test_wrong_key_123"]) expect(text).not.toContain(secret);
  });
});

describe("base URLs", () => {
  const pairs = ENVIRONMENTS.flatMap((environment) => REGIONS.map((region) => [environment, region] as [Environment, Region]));
  const expected: Record<string, string> = {
    "production/eu": "https://api.eu.bandyer.com",
    "production/in": "https://api.in.bandyer.com",
    "production/us": "https://api.us.bandyer.com",
    "sandbox/eu": "https://api.sandbox.eu.bandyer.com",
    "sandbox/in": "https://api.sandbox.in.bandyer.com",
    "sandbox/us": "https://api.sandbox.us.bandyer.com",
  };

  it("covers every environment and region", () => {
    expect(pairs.map(([e, r]) => `${e}/${r}`).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(pairs)("%s/%s: realtime and credentials calls go to Kaleyra's address for that pair", async (environment, region) => {
    const base = expected[`${environment}/${region}`];
    expect(kaleyraBaseUrl(environment, region)).toBe(base);
    const urls: string[] = [];
    const capture = new KaleyraAdapter({
      fetch: async (req) => {
        urls.push(req.url);
        return new Response("", { status: 503 });
      },
    });
    await capture.openSession({ appId: "mAppId_x", environment, region, credential: token("alice", "t"), now: 0 });
    await capture.mintAccessToken({ environment, region, apiKey: "ak_live_key_12345", userId: "alice", expiresInSec: 600 });
    expect(urls).toEqual([`${base}/realtime/v1/sessions`, `${base}/v2/sdk/credentials`]);
  });

  it("an explicit baseUrl overrides the derived one (trailing slash ignored)", async () => {
    const urls: string[] = [];
    const capture = new KaleyraAdapter({ baseUrl: "http://localhost:8787/emulator/", fetch: async (req) => (urls.push(req.url), new Response("", { status: 503 })) });
    await capture.openSession({ appId: "mAppId_x", environment: "production", region: "us", credential: token("alice", "t"), now: 0 });
    expect(urls).toEqual(["http://localhost:8787/emulator/realtime/v1/sessions"]);
  });
});

describe("createRemote", () => {
  it('"fake" is the in-process fake', () => {
    expect(createRemote({ REMOTE: "fake" })).toBeInstanceOf(FakeRemote);
  });

  it('"kaleyra" is the production adapter at Kaleyra\'s addresses', () => {
    const remote = createRemote({ REMOTE: "kaleyra" });
    expect(remote).toBeInstanceOf(KaleyraAdapter);
    expect((remote as KaleyraAdapter).baseUrl("production", "in")).toBe("https://api.in.bandyer.com");
  });

  it('"emulator" is the production adapter routed to the emulator object', async () => {
    const remote = createRemote({ REMOTE: "emulator", KALEYRA_EMULATOR: env.KALEYRA_EMULATOR });
    expect((remote as KaleyraAdapter).baseUrl("production", "eu")).toBe(EMULATOR_BASE_URL);
    const { access_token } = await mint(app, "alice");
    expect(await remote.openSession(request(token("alice", access_token)))).toMatchObject({ ok: true, userId: "alice" });
  });

  it('"emulator" without the binding, and unknown names, are refused', () => {
    expect(() => createRemote({ REMOTE: "emulator" })).toThrow(/KALEYRA_EMULATOR/);
    expect(() => createRemote({ REMOTE: "nope" })).toThrow(/REMOTE must be/);
  });
});
