/**
 * The session's realtime connection to Kaleyra (issue: the real Kaleyra connection), end to end:
 * Worker -> UserSession -> its connector (the production adapter's realtime part) -> Socket.IO ->
 * the emulator.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { TestApp } from "../../dev/emulator/testing";
import { call, createRoom, createUser, setFaults } from "../../dev/emulator/testing";
import { LIVENESS_CHECK_MS } from "../../core/refresh";
import { advance, sessionNow, snapshot, waitForSnapshot, type SessionStub } from "../harness";
import { alice, answerWithMinted, attachVia, connectedAlice, mintToken, openConnections, registerApp, stubFor } from "./stack";

afterEach(async () => {
  await setFaults({ outage: "none" });
  await call("PUT", "/control/realtime", { body: { connectRefusal: null, connectHang: false, stopPinging: false, tokenUpdateRefusal: null, pingIntervalMs: 25_000, pingTimeoutMs: 20_000 } });
});

const emit = (app: TestApp, event: string) => call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event } });

/** Runs the session's alarm at its next due time (a liveness check, a retry, a reconnect). */
async function fireNext(stub: SessionStub): Promise<void> {
  const s = await snapshot(stub);
  const due = Math.min(...[s.livenessCheckAt, s.nextTokenAttemptAt, s.nextReconnectAt, s.pendingToken?.deadline, s.pendingRemote?.deadline, s.refreshAt].filter((t): t is number => t !== undefined));
  await advance(stub, Math.max(0, due - (await sessionNow(stub))));
  await runDurableObjectAlarm(stub);
}

describe("connected means: the user's one Socket.IO connection, switchboard:connected", () => {
  it("a connect opens exactly one realtime connection for the user, and a disconnect closes it", async () => {
    const { app, client } = await connectedAlice();
    expect(await openConnections(app)).toBe(1);
    client.send({ type: "disconnect" });
    await client.waitForStatus("disconnected");
    await waitForSnapshot(await stubFor(app.appId, alice), (s) => s.status === "disconnected");
    for (let i = 0; i < 100 && (await openConnections(app)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await openConnections(app)).toBe(0);
  });
});

describe("a refresh is not a reconnect", () => {
  it("the refreshed token goes over the live connection (switchboard:access_token:update): still one connection", async () => {
    const { app, stub, client } = await connectedAlice(360);
    const first = await snapshot(stub);
    await advance(stub, first.refreshAt! - (await sessionNow(stub)));
    await runDurableObjectAlarm(stub);
    await answerWithMinted(client, app, "alice", 1, 3_600);
    const s = await waitForSnapshot(stub, (x) => !x.refreshing && (x.expiresAt ?? 0) > first.expiresAt!, "refreshed");
    expect(s).toMatchObject({ status: "connected", remoteSessionId: first.remoteSessionId });
    expect(await openConnections(app)).toBe(1);
  });

  it("Kaleyra saying is_about_to_expire starts the refresh at once", async () => {
    const { app, client } = await connectedAlice();
    await emit(app, "is_about_to_expire");
    expect(await client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
  });

  it("a refused update fails that token attempt: the session stays connected and asks again after 1 s + jitter", async () => {
    const { app, stub, client } = await connectedAlice();
    await call("PUT", "/control/realtime", { body: { tokenUpdateRefusal: "access_token_invalid" } });
    await emit(app, "expired");
    await answerWithMinted(client, app, "alice", 1);
    const s = await waitForSnapshot(stub, (x) => x.nextTokenAttemptAt !== undefined, "attempt 2 scheduled");
    expect(s).toMatchObject({ status: "connected", refreshing: true, lastError: "token_invalid" });
  });
});

describe("a lost connection runs the reconnect schedule", () => {
  it("dropped: reconnecting at once (reconnect attempt 1 asks for a token)", async () => {
    const { app, stub, client } = await connectedAlice();
    await call("POST", "/control/connections/drop", { body: { appId: app.appId, userId: "alice" } });
    await waitForSnapshot(stub, (s) => s.status === "reconnecting", "reconnecting");
    expect(await client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
    expect((await snapshot(stub)).lastError).toBe("remote_lost");
  });

  it("silent: no ping within pingInterval + pingTimeout is noticed within that bound + 1 s (the connector's alarm is armed for the heartbeat deadline)", async () => {
    const bound = 1_000 + 1_000;
    const { stub } = await connectedAlice(3_600, { pingIntervalMs: 1_000, pingTimeoutMs: 1_000 });
    await call("PUT", "/control/realtime", { body: { stopPinging: true } });
    const stopped = Date.now();
    // No clock moved, no alarm run by hand: the alarm the session armed fires by itself.
    const s = await waitForSnapshot(stub, (x) => x.status === "reconnecting", "reconnecting", bound + 2_000);
    expect(Date.now() - stopped).toBeLessThanOrEqual(bound + 1_000);
    expect(s.lastError).toBe("remote_lost");
  });

  it("an object evicted while connected keeps its connection (a connector holds it): its liveness check finds it alive", async () => {
    const { app, stub } = await connectedAlice(86_400); // the refresh comes after the 6 h check
    const s = await snapshot(stub);
    expect(s.livenessCheckAt).toBeLessThanOrEqual((await sessionNow(stub)) + LIVENESS_CHECK_MS);
    await evictDurableObject(stub);
    await fireNext(stub);
    expect(await snapshot(stub)).toMatchObject({ status: "connected", remoteSessionId: s.remoteSessionId });
    expect(await openConnections(app)).toBe(1);
  });
});

describe("a reconnect's CONNECT names the connection it replaces", () => {
  it("after Kaleyra drops the connection, the new CONNECT carries socket-id: the previous connection's Socket.IO id (on the wire, as the emulator read it)", async () => {
    const { app, stub, client } = await connectedAlice();
    const list = async () => (await call("GET", `/control/connections?appId=${app.appId}&userId=alice`)).json.connections as { socketId: string; previousSocketId: string | null; state: string }[];
    const [first] = await list();
    expect(first).toMatchObject({ state: "connected", previousSocketId: null });
    await call("POST", "/control/connections/drop", { body: { appId: app.appId, userId: "alice" } });
    await waitForSnapshot(stub, (s) => s.status === "reconnecting", "reconnecting");
    await answerWithMinted(client, app, "alice", 1);
    await waitForSnapshot(stub, (s) => s.status === "connected", "connected again");
    const [second] = await list();
    expect(second).toMatchObject({ state: "connected", previousSocketId: first!.socketId });
    expect(second!.socketId).not.toBe(first!.socketId);
  });
});

describe("Kaleyra ends a session for good", () => {
  it("user:force_disconnect ends it with user_inactive: no retry loop, clients told", async () => {
    const { app, stub, client } = await connectedAlice();
    await emit(app, "force_disconnect");
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "user_inactive", reason: "user_inactive" });
    const s = await snapshot(stub);
    expect(s.nextReconnectAt).toBeUndefined();
    expect(s.pendingToken).toBeUndefined();
  });

  it("a deactivated user (REST) is forced out on the connection, and the session ends user_inactive", async () => {
    const { app, client } = await connectedAlice();
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "user_inactive" });
  });

  it("sdk_version_unsupported ends the session with unsupported_version at connect, no retries", async () => {
    const app = await registerApp();
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    await call("PUT", "/control/realtime", { body: { connectRefusal: "sdk_version_unsupported" } });
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0);
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "unsupported_version", reason: "unsupported_version" });
    expect((await snapshot(stub)).nextReconnectAt).toBeUndefined();
  });

  it("user_not_found fails the token attempt and says why in lastError", async () => {
    const app = await registerApp();
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await createUser(app, "alice");
    const token = await mintToken(app, "alice");
    await call("PUT", "/control/realtime", { body: { connectRefusal: "user_not_found" } });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token });
    expect(await waitForSnapshot(stub, (s) => s.lastError === "user_not_found", "user_not_found")).toMatchObject({ status: "connecting" });
    expect(client.lastState()).toMatchObject({ lastError: "user_not_found" });
  });

  it("a deprecated client is told to every client as a warning", async () => {
    const { app, client } = await connectedAlice();
    await emit(app, "deprecated");
    const warning = await client.waitFor((c) => c.frames.find((f) => f.type === "warning"), "a warning");
    expect(warning).toMatchObject({ type: "warning", code: "client_deprecated" });
  });
});

describe("an access-link session ends by itself when its call ends", () => {
  it("Kaleyra closing the link's connection at the call's end ends the session, call_ended, data cleared", async () => {
    const app = await registerApp();
    await createUser(app, "bob");
    const room = await createRoom(app, ["bob"]);
    const link = { kind: "access_link", accessLink: room.participants[0]!.access_link } as const;
    const client = await attachVia(app.appId, link);
    await client.waitForStatus("connected");
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(await client.waitForStatus("disconnected")).toMatchObject({ reason: "call_ended" });
    await client.waitFor((c) => c.ofType("data_cleared")[0], "data_cleared");
  });
});
