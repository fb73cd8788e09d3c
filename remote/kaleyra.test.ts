import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ENVIRONMENTS, REGIONS, type Environment, type Region } from "../core/app";
import type { Credential } from "../core/session";
import { EMULATOR_ISSUER } from "../dev/emulator/credentials";
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
  waitUntil,
  type TestApp,
} from "../dev/emulator/testing";
import { KaleyraAdapter, kaleyraBaseUrl } from "./kaleyra";
import type { OpenSessionRequest } from "../core/port";

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

/** Every realtime socket the adapter opened (the upgrade requests). */
let sockets: Request[];

function adapter(timeoutMs = 2_000): KaleyraAdapter {
  const socketFetch = (r: Request) => {
    sockets.push(r);
    return emulatorFetch(r);
  };
  return new KaleyraAdapter({ baseUrl: BASE, fetch: recordingFetch, timeoutMs, realtime: { fetch: socketFetch, baseUrl: () => "http://127.0.0.1", allowLocal: true } });
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
  sockets = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await resetEmulator();
});

describe("openSession: the realtime connection, against the emulator's Socket.IO endpoint", () => {
  it("connects with a minted token: ok on switchboard:connected, the user, the token's exp in ms, a live connection", async () => {
    const { access_token } = await mint(app, "alice", 3_600);
    const { claims } = await decodeAndVerifyHs256(access_token, app.signingSecret);
    const remote = adapter();
    const result = await remote.openSession(request(token("alice", access_token)));
    expect(result).toEqual({ ok: true, userId: "alice", expiresAt: claims.exp * 1000, sessionId: expect.any(String), socketId: expect.any(String) });
    const sessionId = result.ok ? result.sessionId! : "";
    expect(remote.isAlive(sessionId)).toBe(true);
    // The credential went in the CONNECT packet, not in the URL.
    expect(sockets.map((r) => r.url)).toEqual([expect.stringMatching(/\/sdk\/socket\/\?api-version=2\.1\.0&EIO=4&transport=websocket$/)]);
    expect(sockets[0]!.url).not.toContain(access_token);
    const held = await call("GET", `/control/connections?appId=${app.appId}&userId=alice`);
    expect(held.json.connections).toHaveLength(1);
    await remote.closeSession({ appId: app.appId, sessionId });
    expect(remote.isAlive(sessionId)).toBe(false);
  });

  it.each([
    ["an expired token", "token_expired"],
    ["a malformed token", "token_invalid"],
    ["another user's token", "token_invalid"],
    ["a token of a user Kaleyra does not know", "user_not_found"],
  ] as const)("a CONNECT_ERROR for %s answers %s", async (what, error) => {
    let value = "garbage";
    let userId = "alice";
    if (what === "an expired token") {
      value = (await mint(app, "alice", 360)).access_token;
      await setClockOffset(361_000);
    } else if (what === "another user's token") value = (await mint(app, "bob")).access_token;
    else if (what.includes("does not know")) {
      const now = Math.floor(Date.now() / 1000);
      userId = "ghost";
      value = await forgeHs256({ user: "ghost", companyId: app.companyId, iat: now, exp: now + 600, iss: EMULATOR_ISSUER, sub: `ghost#${app.companyId}` }, app.signingSecret);
    }
    expect(await adapter().openSession(request(token(userId, value)))).toEqual({ ok: false, error });
  });

  it("an app Kaleyra does not know (app_id_invalid) is unavailable: the reconnect schedule, not a token failure", async () => {
    const { access_token } = await mint(app, "alice");
    expect(await adapter().openSession({ ...request(token("alice", access_token)), appId: "mAppId_unknown" })).toEqual({ ok: false, error: "unavailable" });
  });

  it("sdk_version_unsupported ends the session (unsupported_version)", async () => {
    await call("PUT", "/control/realtime", { body: { connectRefusal: "sdk_version_unsupported" } });
    const { access_token } = await mint(app, "alice");
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "unsupported_version" });
  });

  it("a live connection tells the listener what Kaleyra says: about to expire, expired, forced out (final)", async () => {
    const { access_token } = await mint(app, "alice");
    const remote = adapter();
    const notices: unknown[] = [];
    remote.listen((id, notice) => notices.push([id, notice.type]));
    const opened = await remote.openSession(request(token("alice", access_token)));
    const id = opened.ok ? opened.sessionId : "";
    for (const event of ["is_about_to_expire", "expired", "force_disconnect"]) {
      await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event } });
    }
    await waitUntil(async () => notices.length === 3, "three notices");
    expect(notices).toEqual([[id, "remote_token_expiring"], [id, "remote_token_expired"], [id, "user_deactivated"]]);
    expect(remote.isAlive(id!)).toBe(false);
  });

  it("a refreshed token goes over the live connection (switchboard:access_token:update); a refused one is token_invalid", async () => {
    const remote = adapter();
    const opened = await remote.openSession(request(token("alice", (await mint(app, "alice")).access_token)));
    const id = opened.ok ? opened.sessionId! : "";
    const fresh = await mint(app, "alice", 7_200);
    const { claims } = await decodeAndVerifyHs256(fresh.access_token, app.signingSecret);
    expect(await remote.updateToken(id, fresh.access_token)).toEqual({ ok: true, expiresAt: claims.exp * 1000 });
    await call("PUT", "/control/realtime", { body: { tokenUpdateRefusal: "access_token_invalid" } });
    expect(await remote.updateToken(id, fresh.access_token)).toEqual({ ok: false, error: "token_invalid" });
    expect(await remote.updateToken("no-such-connection", fresh.access_token)).toEqual({ ok: false, error: "unavailable" });
  });

  it("relays any other server event as an `event` notice (first argument, null when none), and emits with an ack", async () => {
    const remote = adapter();
    const notices: unknown[] = [];
    remote.listen((_id, notice) => notices.push(notice));
    const opened = await remote.openSession(request(token("alice", (await mint(app, "alice")).access_token)));
    const id = opened.ok ? opened.sessionId! : "";
    await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event: "user:status", data: { userId: "bob", status: "online" } } });
    await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event: "call:ring" } });
    await waitUntil(async () => notices.length === 2, "two event notices");
    expect(notices).toEqual([{ type: "remote_event", name: "user:status", data: { userId: "bob", status: "online" } }, { type: "remote_event", name: "call:ring", data: null }]);
    // The emulator answers a client's acked event with an echo; Kaleyra's { status: 200, data } gives data.
    expect(await remote.emit(id, "chat:send", { text: "hi" })).toEqual({ ok: true, data: { echo: { text: "hi" } } });
    expect(await remote.emit("no-such-connection", "chat:send", {})).toEqual({ ok: false, error: "not_connected" });
    expect(remote.isAlive(id)).toBe(true);
  });

  it("a dropped connection is lost (the listener hears it, isAlive is false)", async () => {
    const remote = adapter();
    const notices: string[] = [];
    remote.listen((_id, notice) => notices.push(notice.type));
    const opened = await remote.openSession(request(token("alice", (await mint(app, "alice")).access_token)));
    await call("POST", "/control/connections/drop", { body: { appId: app.appId, userId: "alice" } });
    await waitUntil(async () => notices.includes("remote_lost"), "lost");
    expect(remote.isAlive(opened.ok ? opened.sessionId! : "")).toBe(false);
  });

  it("connects with an access link (no token, no expiry) and refuses one never issued or of an ended room", async () => {
    const room = await createRoom(app, ["alice", "bob"]);
    const accessLink = room.participants[1]?.access_link ?? "";
    expect(await adapter().openSession(request(link(accessLink)))).toMatchObject({ ok: true, userId: "bob", sessionId: expect.any(String) });
    expect(await adapter().openSession(request(link("https://sandbox.bandyer.com/eu/direct-rest-call-handler/neverIssued")))).toEqual({ ok: false, error: "invalid_access_link" });
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(await adapter().openSession(request(link(accessLink)))).toEqual({ ok: false, error: "invalid_access_link" });
  });

  it("a Kaleyra that never answers CONNECT is lost at the handshake deadline on check(): unavailable, socket closed", async () => {
    let clock = Date.now();
    const remote = new KaleyraAdapter({ baseUrl: BASE, fetch: recordingFetch, realtime: { fetch: emulatorFetch, baseUrl: () => "http://127.0.0.1", allowLocal: true, now: () => clock } });
    await call("PUT", "/control/realtime", { body: { connectHang: true } });
    let settled: unknown;
    const opening = remote.openSession(request(token("alice", (await mint(app, "alice")).access_token))).then((r) => (settled = r));
    await new Promise((r) => setTimeout(r, 50));
    remote.check();
    expect(settled).toBeUndefined(); // within the handshake bound nothing happens
    clock += 10_001;
    remote.check();
    expect(await opening).toEqual({ ok: false, error: "unavailable" });
  });

  it("answers unavailable, never throws, during an outage (the upgrade is refused)", async () => {
    const { access_token } = await mint(app, "alice");
    await setFaults({ outage: "refuse" });
    expect(await adapter().openSession(request(token("alice", access_token)))).toEqual({ ok: false, error: "unavailable" });
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
    const down = () => Promise.reject(new Error("down"));
    const broken = new KaleyraAdapter({ baseUrl: BASE, fetch: down, realtime: { fetch: down } });
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
  const host = (environment: Environment, region: Region) => (environment === "sandbox" ? `sandbox.${region}` : region);

  it("covers every environment and region, Middle East included", () => {
    expect(pairs.map(([e, r]) => `${e}/${r}`).sort()).toEqual(["eu", "in", "me", "us"].flatMap((r) => [`production/${r}`, `sandbox/${r}`]).sort());
  });

  it.each(pairs)("%s/%s: the realtime socket goes to cs.…bandyer.com/sdk/socket/, credentials to api.…bandyer.com", async (environment, region) => {
    expect(kaleyraBaseUrl(environment, region)).toBe(`https://api.${host(environment, region)}.bandyer.com`);
    const urls: string[] = [];
    const refuse = async (req: Request) => (urls.push(req.url), new Response("", { status: 503 }));
    const capture = new KaleyraAdapter({ fetch: refuse, realtime: { fetch: refuse } });
    expect(await capture.openSession({ appId: "mAppId_x", environment, region, credential: token("alice", "t"), now: 0 })).toEqual({ ok: false, error: "unavailable" });
    await capture.mintAccessToken({ environment, region, apiKey: "ak_live_key_12345", userId: "alice", expiresInSec: 600 });
    expect(urls).toEqual([
      `https://cs.${host(environment, region)}.bandyer.com/sdk/socket/?api-version=2.1.0&EIO=4&transport=websocket`,
      `https://api.${host(environment, region)}.bandyer.com/v2/sdk/credentials`,
    ]);
  });

  it("an app's own addresses (AppSettings.kaleyra) win over the derived ones", async () => {
    const urls: string[] = [];
    const refuse = async (req: Request) => (urls.push(req.url), new Response("", { status: 503 }));
    const capture = new KaleyraAdapter({ fetch: refuse, realtime: { fetch: refuse } });
    await capture.openSession({ appId: "mAppId_x", environment: "sandbox", region: "me", credential: token("alice", "t"), now: 0, realtimeUrl: "wss://cs.example.com/kaleyra" });
    await capture.mintAccessToken({ environment: "sandbox", region: "me", apiKey: "ak_live_key_12345", userId: "alice", expiresInSec: 600, restUrl: "https://api.example.com/" });
    expect(urls).toEqual(["https://cs.example.com/kaleyra/sdk/socket/?api-version=2.1.0&EIO=4&transport=websocket", "https://api.example.com/v2/sdk/credentials"]);
  });

  it("an explicit baseUrl overrides the derived REST one (trailing slash ignored)", async () => {
    const urls: string[] = [];
    const capture = new KaleyraAdapter({ baseUrl: "http://localhost:8787/emulator/", fetch: async (req) => (urls.push(req.url), new Response("", { status: 503 })) });
    await capture.mintAccessToken({ environment: "production", region: "us", apiKey: "ak_live_key_12345", userId: "alice", expiresInSec: 600 });
    expect(urls).toEqual(["http://localhost:8787/emulator/v2/sdk/credentials"]);
  });
});
