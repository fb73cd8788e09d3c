/**
 * Removing an app (issue 20, break 1): every socket of every session of the app closes, idle
 * sessions included, with data_cleared first; and a socket of a removed registration can do
 * nothing under a new registration of the same appId, even one the removal did not reach.
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { appState } from "../durable-objects/stubs";
import { attach, openSocket, reregisterTestApp, SANDBOX_EU, sessionNow, sessionStub, snapshot, TestClient, ticketFor, APP_ID } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const HOUR = 3_600_000;
const ADMIN = { Authorization: "Bearer test-admin-token" };

afterEach(() => fakeRemoteControls.reset());

const closeCodeOf = (c: TestClient) => new Promise<number>((resolve) => c.ws.addEventListener("close", (e) => resolve(e.code)));
const types = (c: TestClient) => c.frames.map((f) => f.type);

describe("attack (the reported break): a proven client of an idle session outlives its app's deletion", () => {
  it("DELETE closes the idle session's socket (4404), data_cleared first; the same appId registered again gets nothing of it", async () => {
    const appId = `mAppId_del_${crypto.randomUUID().slice(0, 8)}`;
    const secret = "lifecycle-ticket-secret-0123456789";
    const put = (body: object) => SELF.fetch(`http://edge.test/v1/apps/${appId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify(body) });
    const settings = { environment: "sandbox", region: "eu", attachModes: ["token", "resume", "ticket"], attachTicketSecret: secret };
    expect((await put(settings)).status).toBe(201);
    const res = await SELF.fetch(`http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=alice`, { headers: { Upgrade: "websocket" } });
    res.webSocket!.accept();
    const client = new TestClient(res.webSocket!);
    const closed = closeCodeOf(client);
    client.send({ type: "auth", ticket: await ticketFor(appId, "alice", 300, secret) });
    await client.waitFor((c) => c.ofType("state")[0], "proven");
    // Connected, then disconnected without clearing: idle, holding no app session slot.
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", Date.now() + HOUR) });
    await client.waitForStatus("connected");
    client.send({ type: "disconnect" });
    await client.waitForStatus("disconnected");
    expect((await SELF.fetch(`http://edge.test/v1/apps/${appId}`, { method: "DELETE", headers: ADMIN })).status).toBe(204);
    expect(await closed).toBe(4404);
    const after = types(client);
    expect(after.lastIndexOf("data_cleared")).toBeGreaterThan(after.lastIndexOf("state"));
    expect((await put(settings)).status).toBe(201);
    expect(client.closed).toBe(true);
  });
});

describe("a socket of a removed registration can do nothing under the new one", () => {
  it("attack: its connect starts nothing (no token request, no slot): it is closed 4404", async () => {
    const stub = await sessionStub(alice);
    const old = await attach(stub, alice);
    await reregisterTestApp();
    const closed = closeCodeOf(old);
    old.send({ type: "connect", userId: "alice" });
    expect(await closed).toBe(4404);
    expect(old.ofType("error").at(-1)).toMatchObject({ code: "app_id_invalid" });
    expect(old.ofType("token_request")).toEqual([]);
    expect((await snapshot(stub)).status).toBe("disconnected");
    expect(await appState(env, APP_ID).listSessions(undefined, undefined, 100)).toEqual({ sessions: [] });
  });

  it("attack: a client proving under the new registration closes it (data_cleared, 4404): it hears nothing of the new session", async () => {
    const stub = await sessionStub(alice);
    const old = await attach(stub, alice);
    await reregisterTestApp();
    const closed = closeCodeOf(old);
    const fresh = await attach(stub, alice);
    expect(await closed).toBe(4404);
    expect(old.ofType("data_cleared")).toHaveLength(1);
    fresh.send({ type: "connect", userId: "alice" });
    const request = await fresh.nextTokenRequest();
    fresh.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await fresh.waitForStatus("connected");
    expect(old.ofType("token_request")).toEqual([]);
    expect(old.frames.filter((f) => f.type === "state" && f.state.status !== "disconnected")).toEqual([]);
  });

  it("attack: a socket routed with the removed registration's epoch (a stale cache) is never proven", async () => {
    const stub = await sessionStub(alice);
    const { oldEpoch } = await reregisterTestApp();
    const stale = await openSocket(stub, alice, SANDBOX_EU, oldEpoch);
    const closed = closeCodeOf(stale);
    stale.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice") });
    expect(await closed).toBe(4404);
    expect(types(stale)).toEqual(["auth_required", "error"]);
  });
});
