/**
 * End to end under workerd: Worker -> UserSession -> production adapter -> Kaleyra emulator, and
 * the emulator's signed webhooks back to the Worker.
 */
import { runDurableObjectAlarm, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { call, createRoom, createUser, decodeAndVerifyHs256, setFaults } from "../../remote/emulator/testing";
import { signWebhook } from "../../remote/signature";
import { advance, sessionNow, snapshot, storageOf, waitForSnapshot } from "../harness";
import { answerWithMinted, attachVia, mintToken, registerApp, stubFor } from "./stack";

const alice = { kind: "token", userId: "alice" } as const;

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
    await advance(stub, first.expiresAt! - 60_000 - (await sessionNow(stub)));
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

  it("a deactivated user gets a final user_inactive, by webhook, with no retry loop", async () => {
    const app = await registerApp({}, true);
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0);
    await client.waitForStatus("connected");
    const patched = await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });
    expect(patched.status).toBe(200);
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "user_inactive", reason: "user_inactive" });
    expect((await storageOf(stub)).alarmAt).toBeUndefined();
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
  it("with no client attached, the refresh mints a token with the app's API key", async () => {
    const app = await registerApp({ serverTokens: { source: "kaleyra_api", order: "fallback" } }, true);
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0, 360);
    const first = await client.waitForStatus("connected");
    client.close();
    await waitForSnapshot(stub, () => true);
    await advance(stub, first.expiresAt! - 60_000 - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const refreshed = await waitForSnapshot(stub, (s) => s.status === "connected" && !s.refreshing && (s.expiresAt ?? 0) > first.expiresAt!);
    expect(refreshed.tokenAttempt).toBe(0);
  });

  it("the server is asked at once when the client holding the request leaves", async () => {
    const app = await registerApp({ serverTokens: { source: "kaleyra_api", order: "fallback" } }, true);
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await client.nextTokenRequest();
    client.close();
    const connected = await waitForSnapshot(stub, (s) => s.status === "connected");
    expect(connected.userId).toBe("alice");
  });
});

describe("access-link sessions", () => {
  it("end by themselves when the room ends: call_ended, data cleared, storage empty", async () => {
    const app = await registerApp({}, true);
    await createUser(app, "bob");
    const room = await createRoom(app, ["bob"]);
    const link = { kind: "access_link", accessLink: room.participants[0]!.access_link } as const;
    const stub = await stubFor(app.appId, link);
    const client = await attachVia(app.appId, link);
    client.send({ type: "connect", accessLink: link.accessLink });
    expect(await client.waitForStatus("connected")).toMatchObject({ mode: "access_link", userId: "bob" });
    expect(client.ofType("token_request")).toHaveLength(0);
    const ended = await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    expect(ended.status).toBe(200);
    await client.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    expect(await client.waitForStatus("disconnected")).toMatchObject({ reason: "call_ended" });
    expect(await storageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
  });
});

describe("Kaleyra webhooks", () => {
  async function connectedAlice() {
    const app = await registerApp({}, true);
    await createUser(app, "alice");
    const stub = await stubFor(app.appId, alice);
    const client = await attachVia(app.appId, alice);
    client.send({ type: "connect", userId: "alice" });
    await answerWithMinted(client, app, "alice", 0);
    await client.waitForStatus("connected");
    return { app, stub };
  }

  const deactivation = (appId: string) => JSON.stringify({ event: "on_user_deactivated", app_id: appId, data: { user_id: "alice" }, created_at: new Date().toISOString() });
  const post = (appId: string, body: string, signature: string) =>
    SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers: { "bandyer-signature": signature }, body });

  it("a webhook signed with another key is refused (401 signature_invalid) and changes nothing", async () => {
    const { app, stub } = await connectedAlice();
    const before = await snapshot(stub);
    const body = deactivation(app.appId);
    const res = await post(app.appId, body, await signWebhook("ak_test_not_the_key", body, Math.floor(Date.now() / 1000)));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("signature_invalid");
    expect(await snapshot(stub)).toEqual(before);
  });

  it("a stale webhook (signed 10 minutes ago) is refused (401 signature_stale) and changes nothing", async () => {
    const { app, stub } = await connectedAlice();
    const before = await snapshot(stub);
    const body = deactivation(app.appId);
    const res = await post(app.appId, body, await signWebhook(app.apiKey, body, Math.floor(Date.now() / 1000) - 600));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("signature_stale");
    expect(await snapshot(stub)).toEqual(before);
  });

  it("the same webhook correctly signed ends the session (the refusals above were the signature's doing)", async () => {
    const { app, stub } = await connectedAlice();
    const body = deactivation(app.appId);
    const res = await post(app.appId, body, await signWebhook(app.apiKey, body, Math.floor(Date.now() / 1000)));
    expect(res.status).toBe(200);
    expect(await snapshot(stub)).toMatchObject({ status: "disconnected", error: "user_inactive" });
  });
});
