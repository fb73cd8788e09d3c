/**
 * The emulator's relay traffic (relay-events.ts) on raw Socket.IO sockets: control-sent events,
 * and the requests it answers with acks.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { realtimeAuth } from "../../remote/realtime";
import { call, createApp, createUser, mint, ORIGIN, rawEmulatorSocket, resetEmulator, TEST_SDK_INFO, type TestApp } from "./testing";

const SOCKET_URL = `${ORIGIN}/sdk/socket/?EIO=4&transport=websocket`;

let app: TestApp;

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
  await createUser(app, "bob");
});

/** A raw socket connected as `userId`; `next()` gives the next Socket.IO packet's text (pings skipped). */
async function connectedSocket(userId: string) {
  const { ws, next, pending } = await rawEmulatorSocket(SOCKET_URL, { skipPings: true });
  await next(); // the Engine.IO open packet
  const { access_token } = await mint(app, userId);
  ws.send(`40${JSON.stringify(realtimeAuth(app.appId, { kind: "token", userId, token: access_token }, TEST_SDK_INFO))}`);
  await next(); // CONNECT {sid}
  await next(); // switchboard:connected
  return { ws, next, pending, json: async () => JSON.parse((await next()).replace(/^4[23]\d*/, "")) as unknown };
}

const sendEvent = (name: string, data?: unknown, body: Record<string, unknown> = {}) =>
  call("POST", "/control/relay/events", { body: { appId: app.appId, userId: "alice", name, ...(data !== undefined && { data }), ...body } });

describe("emulator relay events (control)", () => {
  it("sends user:status_changed and call:incoming on the user's connection, with defaults filled in", async () => {
    const alice = await connectedSocket("alice");
    const status = await sendEvent("user:status_changed", { userId: "bob", status: "busy" });
    expect(status.json).toEqual({ event: "user:status_changed", data: { userId: "bob", status: "busy" }, delivered: 1 });
    expect(await alice.json()).toEqual(["user:status_changed", { userId: "bob", status: "busy" }]);
    const incoming = await sendEvent("call:incoming", { from: "bob" });
    expect(incoming.json.data).toEqual({ callId: expect.stringMatching(/^call_/), from: "bob" });
    expect(await alice.json()).toEqual(["call:incoming", incoming.json.data]);
  });

  it("refuses unknown names, bad shapes and unknown apps, sending nothing", async () => {
    const alice = await connectedSocket("alice");
    expect((await sendEvent("switchboard:connected")).status).toBe(400);
    expect((await sendEvent("user:status_changed", { status: "away" })).json).toMatchObject({ error: "bad_request", field: "data" });
    expect((await sendEvent("call:incoming", { from: "" })).status).toBe(400);
    expect((await sendEvent("call:incoming", [])).status).toBe(400);
    expect((await sendEvent("call:incoming", undefined, { appId: "mAppId_nope" })).status).toBe(404);
    expect((await sendEvent("call:incoming", undefined, { extra: 1 })).status).toBe(400);
    await new Promise((r) => setTimeout(r, 20));
    expect(alice.pending()).toBe(0);
  });
});

describe("emulator relay requests (acks)", () => {
  it("user:status:set is acked and announced as user:status_changed to every connected user of the app", async () => {
    const alice = await connectedSocket("alice");
    const bob = await connectedSocket("bob");
    alice.ws.send('421["user:status:set",{"status":"busy"}]');
    const frames = [await alice.next(), await alice.next()];
    expect(frames).toContain('431[{"status":200,"data":{"userId":"alice","status":"busy"}}]');
    expect(frames).toContain('42["user:status_changed",{"userId":"alice","status":"busy"}]');
    expect(await bob.json()).toEqual(["user:status_changed", { userId: "alice", status: "busy" }]);
  });

  it("call:dial is acked with a callId and sends call:incoming to the callee; a callee not connected is refused", async () => {
    const alice = await connectedSocket("alice");
    alice.ws.send('422["call:dial",{"to":"bob"}]');
    expect(await alice.next()).toBe('432[{"error":"user_not_connected"}]');
    const bob = await connectedSocket("bob");
    alice.ws.send('423["call:dial",{"to":"bob"}]');
    const ack = JSON.parse((await alice.next()).slice(3)) as [{ status: number; data: { callId: string } }];
    expect(ack[0]).toEqual({ status: 200, data: { callId: expect.stringMatching(/^call_/) } });
    expect(await bob.json()).toEqual(["call:incoming", { callId: ack[0].data.callId, from: "alice" }]);
  });

  it("a bad argument gets { error: bad_request } and changes nothing; other events are still socket.ts's", async () => {
    const alice = await connectedSocket("alice");
    const bob = await connectedSocket("bob");
    alice.ws.send('424["user:status:set",{"status":"away"}]');
    expect(await alice.next()).toBe('434[{"error":"bad_request"}]');
    alice.ws.send('425["call:dial"]');
    expect(await alice.next()).toBe('435[{"error":"bad_request"}]');
    alice.ws.send('426["something:else",{}]');
    expect(await alice.next()).toMatch(/^436\[/);
    await new Promise((r) => setTimeout(r, 20));
    expect(bob.pending()).toBe(0);
  });
});
