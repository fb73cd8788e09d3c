/**
 * Waking a closed app end to end under workerd (issue 21): the emulator's events through the
 * production adapter to the session, Kaleyra's v0 webhook from the emulator to the Worker, and the
 * push to the local push service on loopback (the local composition's rule), which checks the
 * VAPID JWT against the app's key and decrypts.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createRoom, createUser } from "../../dev/emulator/testing";
import type { LocalSubscription } from "../../dev/push-service";
import { CALLS, captureWakeLogs, pushesNow, pushesTo } from "../wake-harness";
import { ADMIN, alice, attachVia, mintToken, registerApp } from "./stack";

captureWakeLogs();

/** The local push service on loopback, as `npm start` serves it. */
const LOCAL_PUSH = "http://localhost";

async function closedAlice() {
  // With its API key: Kaleyra's webhooks are signed with it.
  const app = await registerApp({ wake: CALLS }, true);
  await createUser(app, "alice");
  const key = (await (await SELF.fetch(`http://edge.test/v1/apps/${app.appId}/push`)).json()) as { vapidPublicKey: string };
  const client = await attachVia(app.appId, alice);
  client.send({ type: "connect", userId: "alice" });
  const request = await client.nextTokenRequest();
  client.send({ type: "token", requestId: request.requestId, token: await mintToken(app, "alice") });
  await client.waitForStatus("connected");
  const made = await SELF.fetch(`${LOCAL_PUSH}/push-control/subscriptions`, { method: "POST", body: JSON.stringify({ applicationServerKey: key.vapidPublicKey }) });
  const sub = (await made.json()) as LocalSubscription;
  const { id: _id, ...subscription } = sub;
  client.send({ type: "push_subscribe", subscription, applicationServerKey: key.vapidPublicKey });
  await client.waitFor((c) => c.ofType("push_subscribed")[0], "push_subscribed");
  return { app, client, sub };
}

describe("a call for a user with no client open, through the emulator", () => {
  it("a relayed call:incoming is pushed to the loopback push service only once the tab is closed, once per call", async () => {
    const { app, client, sub } = await closedAlice();
    const ring = (callId: string) => call("POST", "/control/relay/events", { body: { appId: app.appId, userId: "alice", name: "call:incoming", data: { callId, from: "bob" } } });
    await ring("c-open");
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the relayed event");
    client.close();
    await client.waitFor((c) => c.closed, "closed");
    await new Promise((r) => setTimeout(r, 100));
    await ring("c-closed");
    await ring("c-closed");
    const [push] = await pushesTo(sub, 1, LOCAL_PUSH);
    expect(JSON.parse(push!.payload)).toMatchObject({ reason: "kaleyra_event", event: { name: "call:incoming", callId: "c-closed" } });
    expect(push!.claims.aud).toBe(LOCAL_PUSH);
    await new Promise((r) => setTimeout(r, 300));
    expect((await pushesNow(sub, LOCAL_PUSH)).map((p) => JSON.parse(p.payload).event.callId)).toEqual(["c-closed"]);
  });

  it("the emulator's v0 on_call_incoming for a room the tenant indexed wakes its user", async () => {
    const { app, client, sub } = await closedAlice();
    client.close();
    await client.waitFor((c) => c.closed, "closed");
    await createUser(app, "bob");
    const room = await createRoom(app, ["alice", "bob"]);
    const key = ((await (await SELF.fetch(`http://edge.test/v1/apps/${app.appId}/tenant-keys`, { method: "POST", headers: ADMIN })).json()) as { key: string }).key;
    const indexed = await SELF.fetch(`http://edge.test/v1/tenant/apps/${app.appId}/rooms/${room.room_id}/users`, { method: "PUT", headers: { Authorization: `Bearer ${key}` }, body: JSON.stringify({ userIds: ["alice"] }) });
    expect(indexed.status).toBe(200);
    expect((await call("POST", `/control/apps/${app.appId}/rooms/${room.room_id}/incoming-call-v0`)).status).toBe(200);
    const [push] = await pushesTo(sub, 1, LOCAL_PUSH);
    expect(JSON.parse(push!.payload)).toMatchObject({ reason: "call_incoming", event: { name: "on_call_incoming", callId: room.room_id } });
  });
});
