/**
 * The emulator's Socket.IO endpoint under workerd: the wire itself (raw frames) and our realtime
 * client (remote/realtime) against it. The reference implementations are checked in Node
 * (test/node/*.node.test.ts).
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { attachSocket, openRealtimeSocket, realtimeAuth, RealtimeConnection, type RealtimeReport } from "../../remote/realtime";
import type { Credential } from "../../core/session";
import { call, createApp, createRoom, createUser, emulator, forgeHs256, mint, ORIGIN, rawEmulatorSocket, resetEmulator, TEST_SDK_INFO, setClockOffset, waitUntil, type TestApp } from "./testing";

const SOCKET_URL = `${ORIGIN}/sdk/socket/?api-version=2.1.0&EIO=4&transport=websocket`;

let app: TestApp;

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
});

/** A raw socket to the endpoint whose frames queue up for `next()`. */
const rawSocket = () => rawEmulatorSocket(SOCKET_URL);

/** Our client against the emulator, its reports collected. */
async function client(credential: Credential, appId = app.appId, info = TEST_SDK_INFO) {
  const opened = await openRealtimeSocket(SOCKET_URL.replace("http:", "ws:"), { fetch: (request) => emulator().fetch(request) });
  if (!opened.ok) throw new Error(opened.message);
  const reports: RealtimeReport[] = [];
  const connection = new RealtimeConnection({ socket: opened.socket, auth: realtimeAuth(appId, credential, info), now: Date.now, report: (r) => reports.push(r) });
  attachSocket(opened.socket, connection);
  const waitFor = async (type: RealtimeReport["type"]) => {
    await waitUntil(async () => reports.some((r) => r.type === type), `report ${type}`);
    return reports.find((r) => r.type === type) as RealtimeReport;
  };
  return { connection, reports, waitFor };
}

async function token(userId = "alice") {
  return { kind: "token" as const, userId, token: (await mint(app, userId)).access_token };
}

describe("the endpoint", () => {
  it("answers polling and a missing EIO with 400 and a clear message", async () => {
    const polling = await call("GET", "/sdk/socket/?EIO=4&transport=polling");
    expect(polling.status).toBe(400);
    expect(polling.json.message).toMatch(/websocket transport only/);
    expect((await call("GET", "/sdk/socket/?transport=websocket")).status).toBe(400);
    expect((await call("GET", "/sdk/socket/?EIO=4&transport=websocket")).status).toBe(426);
  });

  it("opens with the configured heartbeat, then CONNECT -> CONNECT {sid} and switchboard:connected {user, company}", async () => {
    await call("PUT", "/control/realtime", { body: { pingIntervalMs: 300, pingTimeoutMs: 200 } });
    const s = await rawSocket();
    const open = JSON.parse((await s.next()).slice(1));
    expect(open).toMatchObject({ sid: expect.any(String), upgrades: [], pingInterval: 300, pingTimeout: 200, maxPayload: 1_000_000 });
    const { access_token } = await mint(app, "alice");
    s.ws.send(`40${JSON.stringify(realtimeAuth(app.appId, { kind: "token", userId: "alice", token: access_token }, TEST_SDK_INFO))}`);
    expect(await s.next()).toMatch(/^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
    expect(JSON.parse((await s.next()).slice(2))).toEqual(["switchboard:connected", { user: { userId: "alice" }, company: { id: app.companyId } }]);
  });

  it("counts the CONNECTs that name an app (GET /control/connects), refused ones too, and records a reconnect's socket-id", async () => {
    expect((await call("GET", `/control/connects?appId=${app.appId}`)).json).toEqual({ appId: app.appId, connects: 0 });
    const first = await client(await token());
    await first.waitFor("connected");
    const refused = await client({ kind: "token", userId: "alice", token: "junk" });
    await refused.waitFor("refused");
    expect((await call("GET", `/control/connects?appId=${app.appId}`)).json).toMatchObject({ connects: 2 });
    expect((await call("GET", "/control/connects?appId=mAppId_nobody")).status).toBe(404);
    const sid = first.connection.socketId!;
    const credential = await token(); // before the socket opens: its open packet must find the listener
    const opened = await openRealtimeSocket(SOCKET_URL.replace("http:", "ws:"), { fetch: (request) => emulator().fetch(request) });
    if (!opened.ok) throw new Error(opened.message);
    const reports: RealtimeReport[] = [];
    const again = new RealtimeConnection({ socket: opened.socket, auth: realtimeAuth(app.appId, credential, TEST_SDK_INFO, sid), now: Date.now, report: (r) => reports.push(r) });
    attachSocket(opened.socket, again);
    await waitUntil(async () => again.state === "connected", `connected again (${JSON.stringify(reports)})`);
    const listed = (await call("GET", `/control/connections?appId=${app.appId}`)).json.connections as { socketId: string; previousSocketId: string | null }[];
    expect(listed.find((c) => c.socketId === again.socketId)).toMatchObject({ previousSocketId: sid });
    expect(listed.find((c) => c.socketId === sid)).toMatchObject({ previousSocketId: null });
  });

  it("closes a socket whose first packet is not CONNECT", async () => {
    const s = await rawSocket();
    await s.next();
    s.ws.send('42["hello"]');
    await waitUntil(async () => s.closed() !== undefined, "close");
    expect(s.closed()).toBe(1002);
  });

  it("pings on the alarm, stops when pinging is stopped, and closes a socket that does not pong", async () => {
    // The emulator's alarms run by themselves here, so this test waits for them (bounded) rather than driving them.
    await call("PUT", "/control/realtime", { body: { pingIntervalMs: 50, pingTimeoutMs: 400 } });
    const s = await rawSocket();
    await s.next();
    let answer = true;
    s.ws.addEventListener("message", (e) => {
      if (answer && e.data === "2") s.ws.send("3");
    });
    expect(await s.next()).toBe("2");
    expect(await s.next()).toBe("2");
    await waitUntil(async () => (await call("GET", "/control/connections")).json.connections[0]?.lastPongAt !== null, "pong recorded");

    await call("PUT", "/control/realtime", { body: { pingIntervalMs: 50, pingTimeoutMs: 400, stopPinging: true } });
    await new Promise((r) => setTimeout(r, 50));
    while (s.pending() > 0) await s.next(); // pings sent before the change
    await new Promise((r) => setTimeout(r, 200));
    expect(s.pending()).toBe(0);
    expect(s.closed()).toBeUndefined();

    answer = false;
    await call("PUT", "/control/realtime", { body: { pingIntervalMs: 50, pingTimeoutMs: 400 } });
    await waitUntil(async () => s.closed() !== undefined, "close on pong timeout", 3_000);
    expect(s.closed()).toBe(4000);
  });
});

describe("our realtime client against the emulator", () => {
  it("connects with a token and refreshes it with switchboard:access_token:update", async () => {
    const c = await client(await token());
    expect(await c.waitFor("connected")).toMatchObject({ user: { userId: "alice" }, company: { id: app.companyId } });
    expect(await c.connection.updateToken((await mint(app, "alice")).access_token)).toEqual({ ok: true });
    expect(await c.connection.updateToken("not.a.token")).toEqual({ ok: false, reason: "refused", error: "access_token_invalid" });
    await call("PUT", "/control/realtime", { body: { tokenUpdateRefusal: "access_token_invalid_user" } });
    expect(await c.connection.updateToken((await mint(app, "alice")).access_token)).toEqual({ ok: false, reason: "refused", error: "access_token_invalid_user" });
    c.connection.close();
  });

  it("connects with an access link; ending its room closes the connection", async () => {
    const room = await createRoom(app, ["alice"]);
    const c = await client({ kind: "access_link", accessLink: room.participants[0]?.access_link as string });
    await c.waitFor("connected");
    expect((await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey })).status).toBe(200);
    expect(await c.waitFor("lost")).toMatchObject({ reason: "server_disconnect" });
  });

  it.each([
    ["an expired token", "access_token_expired"],
    ["a token signed by another app", "access_token_invalid_signature"],
    ["a token for another user", "access_token_invalid_user"],
    ["a token of a user that does not exist", "user_not_found"],
    ["an unknown app", "app_id_invalid"],
    ["an unknown access link", "invalid_access_link"],
    ["an sdk-version that is not a version", "sdk_version_invalid"],
  ])("refuses %s with CONNECT_ERROR %s", async (what, name) => {
    let credential: Credential = await token();
    let appId = app.appId;
    if (what === "an expired token") await setClockOffset(3_600_000);
    if (what === "a token signed by another app") {
      const other = await createApp();
      await createUser(other, "alice");
      credential = { kind: "token", userId: "alice", token: (await mint(other, "alice")).access_token };
    }
    if (what === "a token for another user") credential = { ...credential, userId: "bob" } as Credential;
    if (what === "a token of a user that does not exist") credential = await forgeToken("ghost");
    if (what === "an unknown app") appId = "mAppId_nobody";
    if (what === "an unknown access link") credential = { kind: "access_link", accessLink: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/nope" };
    const c = await client(credential, appId, what === "an sdk-version that is not a version" ? { ...TEST_SDK_INFO, sdkVersion: "latest" } : TEST_SDK_INFO);
    expect(await c.waitFor("refused")).toEqual({ type: "refused", name });
  });

  it("refuses with the name a fault gives, and hangs without an answer", async () => {
    await call("PUT", "/control/realtime", { body: { connectRefusal: "sdk_version_unsupported" } });
    const refused = await client(await token());
    expect(await refused.waitFor("refused")).toEqual({ type: "refused", name: "sdk_version_unsupported" });

    await call("PUT", "/control/realtime", { body: { connectHang: true } });
    const hung = await client(await token());
    await waitUntil(async () => (await call("GET", "/control/connections")).json.connections.some((x: { state: string }) => x.state === "held"), "held");
    expect(hung.reports).toEqual([]);
    hung.connection.check(Date.now() + 60_000);
    expect(hung.reports).toEqual([{ type: "lost", reason: "handshake_timeout" }]);
  });

  it("receives the server events the control API sends; force_disconnect is acked and the server closes", async () => {
    const c = await client(await token());
    await c.waitFor("connected");
    const emit = (event: string) => call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event } });
    expect((await emit("is_about_to_expire")).json).toEqual({ event: "switchboard:access_token:is_about_to_expire", delivered: 1 });
    await emit("expired");
    await emit("deprecated");
    await c.waitFor("client_deprecated");
    expect(c.reports.map((r) => r.type)).toEqual(["connected", "token_about_to_expire", "token_expired", "client_deprecated"]);
    expect((await emit("")).status).toBe(400);
    // Any other name is passed through as it is (the relay's events), with no argument when no data.
    expect((await emit("nonsense")).json).toEqual({ event: "nonsense", delivered: 1 });
    expect(await c.waitFor("server_event")).toEqual({ type: "server_event", name: "nonsense", args: [] });
    await emit("force_disconnect");
    expect(await c.waitFor("force_disconnect")).toEqual({ type: "force_disconnect", reason: "user_disabled" });
    await waitUntil(async () => (await call("GET", `/control/connections?appId=${app.appId}`)).json.connections.length === 0, "server closed");
  });

  it("deactivating the user through REST sends user:force_disconnect; an inactive user is let in and disconnected before switchboard:connected", async () => {
    const c = await client(await token());
    await c.waitFor("connected");
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    await c.waitFor("force_disconnect");
    const again = await client(await forgeToken("alice"));
    await again.waitFor("force_disconnect");
    expect(again.reports.map((r) => r.type)).toEqual(["force_disconnect"]);
  });

  it("tells a connection its token expired (switchboard:access_token:expired) on the alarm after exp", async () => {
    const c = await client(await token());
    await c.waitFor("connected");
    await runDurableObjectAlarm(emulator());
    expect(c.reports.map((r) => r.type)).toEqual(["connected"]);
    await setClockOffset(3_600_000);
    await runDurableObjectAlarm(emulator());
    await c.waitFor("token_expired");
    await runDurableObjectAlarm(emulator());
    expect(c.reports.map((r) => r.type)).toEqual(["connected", "token_expired"]);
  });

  it("a dropped connection is lost", async () => {
    const c = await client(await token());
    await c.waitFor("connected");
    expect((await call("POST", "/control/connections/drop", { body: { appId: app.appId, userId: "alice" } })).json).toEqual({ dropped: 1 });
    expect(await c.waitFor("lost")).toMatchObject({ reason: "socket_closed" });
  });
});

/** A token the emulator would mint, for a user it may not know. */
async function forgeToken(userId: string): Promise<Credential> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { user: userId, companyId: app.companyId, allowCamera: true, iat: now, exp: now + 600, iss: "@switchboard-core", sub: `${userId}#${app.companyId}` };
  return { kind: "token", userId, token: await forgeHs256(claims, app.signingSecret) };
}
