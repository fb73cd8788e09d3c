/**
 * End to end under workerd: Worker -> UserSession -> production adapter -> Kaleyra emulator, and
 * the emulator's signed webhooks back to the Worker.
 */
import { runDurableObjectAlarm, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { call, createUser, decodeAndVerifyHs256, setFaults } from "../../dev/emulator/testing";
import { signRoomId, signWebhook } from "../../crypto/signature";
import { advance, sessionNow, snapshot, storageOf, waitForSnapshot } from "../harness";
import { ADMIN, alice, answerWithMinted, attachVia, connectedLink, mintToken, registerApp, stubFor } from "./stack";

afterEach(async () => {
  await setFaults({ outage: "none" });
});

describe("token sessions against the emulator", () => {
  it("connects with an emulator-minted token; the session expires when the JWT does", async () => {
    const app = await registerApp();
    await createUser(app, "alice");
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    const token = await mintToken(app, "alice");
    client.send({ type: "token", requestId: request.requestId, token });
    const state = await client.waitForStatus("connected");
    const { claims } = await decodeAndVerifyHs256(token, app.signingSecret);
    expect(state).toMatchObject({ userId: "alice", expiresAt: claims.exp * 1000 });
  });

  it("refreshes before expiry: one token request, a new expiry, still connected", async () => {
    const app = await registerApp();
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0, 360);
    const first = await client.waitForStatus("connected");
    await advance(stub, first.refreshAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await answerWithMinted(client, app, "alice", 1, 3_600);
    const refreshed = await client.waitFor((c) => (c.lastState()?.expiresAt ?? 0) > first.expiresAt! && c.lastState(), "new expiry");
    expect(refreshed).toMatchObject({ status: "connected", refreshing: false });
    expect(client.ofType("token_request")).toHaveLength(2);
  });

  it("an emulator outage runs the reconnect schedule, and the session recovers when it ends", async () => {
    const app = await registerApp();
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    // Minted before the outage: it refuses the credentials call too.
    const tokens = [await mintToken(app, "alice"), await mintToken(app, "alice")];
    const answer = async (n: number) => {
      const request = await client.nextTokenRequest(n);
      client.send({ type: "token", requestId: request.requestId, token: tokens[n % 2]! });
    };
    await setFaults({ outage: "refuse" });
    client.send({ type: "connect", userId: "alice" });
    await answer(0);
    // Unreachable: reconnect attempt 1 at once, its own token cycle.
    await answer(1);
    const waiting = await client.waitFor((c) => c.lastState()?.nextAttemptAt !== undefined && c.lastState(), "a reconnect wait");
    expect(waiting).toMatchObject({ status: "reconnecting", reconnectAttempt: 1 });
    await setFaults({ outage: "none" });
    await advance(stub, waiting.nextAttemptAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await answerWithMinted(client, app, "alice", 2);
    expect(await client.waitForStatus("connected")).toMatchObject({ reconnectAttempt: 0, tokenAttempt: 0 });
  });

  it("connecting a deactivated user ends with user_inactive at once", async () => {
    const app = await registerApp();
    await createUser(app, "alice");
    const token = await mintToken(app, "alice");
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token });
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "user_inactive" });
    expect(client.ofType("token_request")).toHaveLength(1);
  });
});

describe("server-side token source", () => {
  // A session lives until it is ended (keep-alive): left running, it would reconnect after the next
  // test resets the emulator and ask it for tokens with a key it no longer knows, logging every
  // failed attempt into whichever test runs then.
  const running: Awaited<ReturnType<typeof stubFor>>[] = [];
  afterEach(async () => {
    for (const stub of running.splice(0)) await stub.end(true);
  });

  it("with no client attached, the refresh mints a token with the app's API key", async () => {
    const app = await registerApp({ serverTokens: { source: "kaleyra_api", order: "fallback" } }, true);
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    running.push(stub);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0, 360);
    const first = await client.waitForStatus("connected");
    client.close();
    const { refreshAt } = await waitForSnapshot(stub, () => true);
    await advance(stub, refreshAt! - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const refreshed = await waitForSnapshot(stub, (s) => s.status === "connected" && !s.refreshing && (s.expiresAt ?? 0) > first.expiresAt!);
    expect(refreshed.tokenAttempt).toBe(0);
  });

  it("the server is asked at once when the client holding the request leaves", async () => {
    const app = await registerApp({ serverTokens: { source: "kaleyra_api", order: "fallback" } }, true);
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    running.push(stub);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await client.nextTokenRequest();
    client.close();
    const connected = await waitForSnapshot(stub, (s) => s.status === "connected");
    expect(connected.userId).toBe("alice");
  });
});

describe("access-link sessions", () => {
  it.each([
    ["its call ends (on_session_ended)", "POST", "/v2/rooms/:id/end"],
    ["the room is disabled (on_room_disabled)", "PUT", "/rest/room/disable/:id"],
    ["the room is deleted (on_room_deleted)", "DELETE", "/rest/room/delete/:id"],
  ])("end by themselves when %s: call_ended, data cleared, storage empty", async (_, method, route) => {
    const { app, stub, client, roomId } = await connectedLink();
    expect(client.lastState()).toMatchObject({ mode: "access_link", userId: "bob" });
    expect(client.ofType("token_request")).toHaveLength(0);
    const ended = await call(method, route.replace(":id", roomId), { apiKey: app.apiKey });
    expect(ended.status).toBe(200);
    await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    const outbox = await call("GET", `/control/webhooks?appId=${app.appId}`);
    expect(outbox.json.webhooks.at(-1)).toMatchObject({ status: 200 });
    expect(await client.waitForStatus("disconnected")).toMatchObject({ reason: "call_ended" });
    expect(await storageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
  });
});

describe("Kaleyra webhooks", () => {
  const v1 = (event: string, roomId: string, fields: Record<string, unknown> = {}) =>
    JSON.stringify({ event, event_version: "1.0", namespace: "room", timestamp: Date.now(), data: { room_id: roomId }, ...fields });
  const nowSec = () => Math.floor(Date.now() / 1000);
  const post = (appId: string, body: string, headers: Record<string, string>) =>
    SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers, body });
  const signed = async (appId: string, apiKey: string, body: string, t = nowSec()) => post(appId, body, { "bandyer-signature": await signWebhook(apiKey, body, t) });
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string; field?: string } }).error;

  it("a webhook signed with another key is refused (401 signature_invalid) and changes nothing", async () => {
    const { app, stub, roomId } = await connectedLink();
    const before = await snapshot(stub);
    const res = await signed(app.appId, "ak_test_not_the_key", v1("on_room_deleted", roomId));
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toMatchObject({ code: "signature_invalid" });
    expect(await snapshot(stub)).toEqual(before);
  });

  it("a stale webhook (signed 10 minutes ago) is refused (401 signature_stale) and changes nothing", async () => {
    const { app, stub, roomId } = await connectedLink();
    const before = await snapshot(stub);
    const res = await signed(app.appId, app.apiKey, v1("on_room_deleted", roomId), nowSec() - 600);
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toMatchObject({ code: "signature_stale" });
    expect(await snapshot(stub)).toEqual(before);
  });

  it.each(["on_session_ended", "on_room_disabled", "on_room_deleted"])(
    "%s correctly signed ends the room's link session: call_ended, data cleared (the refusals above were the signature's doing)",
    async (event) => {
      const { app, stub, client, roomId } = await connectedLink();
      const res = await signed(app.appId, app.apiKey, v1(event, roomId));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, handled: event });
      await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
      expect(await snapshot(stub)).toMatchObject({ status: "disconnected", reason: "call_ended" });
    },
  );

  it("a room webhook from another app, naming this app's room, ends nothing", async () => {
    const { app, stub, roomId } = await connectedLink();
    const otherAppId = `mAppId_other_${crypto.randomUUID().slice(0, 8)}`;
    const otherKey = "ak_test_other_app_key_0000";
    const put = await SELF.fetch(`http://edge.test/v1/apps/${otherAppId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify({ environment: "sandbox", region: "eu", kaleyraApiKey: otherKey }) });
    expect(put.status).toBe(201);
    // Signed with the other app's key for its own route: authentic, but the room is not its room.
    expect((await signed(otherAppId, otherKey, v1("on_room_deleted", roomId))).status).toBe(200);
    // And the other app's key on this app's route is a bad signature.
    expect((await signed(app.appId, otherKey, v1("on_room_deleted", roomId))).status).toBe(401);
    expect(await snapshot(stub)).toMatchObject({ status: "connected" });
    expect((await signed(app.appId, app.apiKey, v1("on_room_deleted", roomId))).status).toBe(200);
    expect(await snapshot(stub)).toMatchObject({ status: "disconnected", reason: "call_ended" });
  });

  it("a room event in an unknown event_version is refused (400) and changes nothing", async () => {
    const { app, stub, roomId } = await connectedLink();
    const res = await signed(app.appId, app.apiKey, v1("on_room_deleted", roomId, { event_version: "2.0" }));
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toMatchObject({ code: "bad_request", field: "event_version" });
    expect(await snapshot(stub)).toMatchObject({ status: "connected" });
  });

  it("the invented on_room_ended and on_user_deactivated are acknowledged and ignored like any unknown event", async () => {
    const { app, stub, roomId } = await connectedLink();
    for (const event of ["on_room_ended", "on_user_deactivated", "on_user_connected"]) {
      const res = await signed(app.appId, app.apiKey, v1(event, roomId, { data: { room_id: roomId, user_id: "bob" } }));
      expect(await res.json()).toEqual({ ok: true, ignored: event });
    }
    expect(await snapshot(stub)).toMatchObject({ status: "connected" });
  });

  describe("v0 on_call_ended (room-id-hmac)", () => {
    const v0 = (roomId: string) => JSON.stringify({ event: "on_call_ended", data: { room_id: roomId } });

    it("with a wrong room-id-hmac (another key, another room, or none) is refused (401 signature_invalid) and changes nothing", async () => {
      const { app, stub, roomId } = await connectedLink();
      const before = await snapshot(stub);
      const wrong: Record<string, string>[] = [{ "room-id-hmac": await signRoomId("ak_test_not_the_key", roomId) }, { "room-id-hmac": await signRoomId(app.apiKey, "room_other") }, {}];
      for (const headers of wrong) {
        const res = await post(app.appId, v0(roomId), headers);
        expect(res.status).toBe(401);
        expect(await errorCode(res)).toMatchObject({ code: "signature_invalid" });
      }
      expect(await snapshot(stub)).toEqual(before);
    });

    it("correctly signed ends the room's link session; the same delivery again within 10 minutes is webhook_replayed", async () => {
      const { app, stub, roomId } = await connectedLink();
      const headers = { "room-id-hmac": await signRoomId(app.apiKey, roomId) };
      const res = await post(app.appId, v0(roomId), headers);
      expect(await res.json()).toEqual({ ok: true, handled: "on_call_ended" });
      expect(await snapshot(stub)).toMatchObject({ status: "disconnected", reason: "call_ended" });
      const again = await post(app.appId, v0(roomId), headers);
      expect(again.status).toBe(409);
      expect(await errorCode(again)).toMatchObject({ code: "webhook_replayed" });
    });

    it("an earlier v0 event about the room (same MAC: it covers the room id only) does not make on_call_ended a replay", async () => {
      const { app, stub, roomId } = await connectedLink();
      const headers = { "room-id-hmac": await signRoomId(app.apiKey, roomId) };
      const incoming = await post(app.appId, JSON.stringify({ event: "on_call_incoming", data: { room_id: roomId } }), headers);
      // Handled (it may wake the users the tenant indexed for the room: docs/push.md); the link session is untouched.
      expect(await incoming.json()).toEqual({ ok: true, handled: "on_call_incoming" });
      expect(await snapshot(stub)).toMatchObject({ status: "connected" });
      expect((await post(app.appId, v0(roomId), headers)).status).toBe(200);
      expect(await snapshot(stub)).toMatchObject({ status: "disconnected", reason: "call_ended" });
    });

    it("the emulator's v0 call end reaches the session through its webhook", async () => {
      const { app, client, roomId } = await connectedLink();
      expect((await call("POST", `/control/apps/${app.appId}/rooms/${roomId}/end-call-v0`)).status).toBe(200);
      expect(await client.waitForStatus("disconnected")).toMatchObject({ reason: "call_ended" });
      const outbox = await call("GET", `/control/webhooks?appId=${app.appId}`);
      expect(outbox.json.webhooks.at(-1)).toMatchObject({ event: "on_call_ended", status: 200 });
    });
  });
});
