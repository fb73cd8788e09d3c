/**
 * Waking a closed app against a running local stack (`npm start`, or the bench's wrangler): the
 * steps the browser test's end-to-end check and the bench's wake stage share. An app registered on
 * both sides with wake settings; a user's raw-protocol client (docs/protocol.md) that connects with
 * an emulator token and gives the session a subscription of the local push service (dev/local-push.ts:
 * it checks each push's VAPID JWT and decrypts it); rings through the emulator (a relayed
 * `call:incoming`, or Kaleyra's v0 `on_call_incoming` webhook); what the push service received.
 * Every wait is bounded.
 */
import { randomBytes } from "node:crypto";
import { requestJson } from "./http.mjs";
import { sleep, waitUntil } from "./proc.mjs";

export const CALL_EVENTS = ["call:incoming", "on_call_incoming"];

const call = (base, method, path, body, headers) => requestJson(`${base}${path}`, { method, body, headers });

function expectStatus(answer, statuses, what) {
  if (!statuses.includes(answer.status)) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.json)}`);
  return answer.json;
}

const until = (what, check, ms = 10_000, every = 20) => waitUntil(check, what, ms, every);

/**
 * An app with wakes on (Web Push for the emulator's call:incoming and v0 on_call_incoming), in the
 * emulator (its webhooks delivered in process) and in the orchestrator; answers { appId, apiKey,
 * vapidPublicKey, tenantKey }.
 */
export async function registerWakeApp(base, adminToken, appId, { limits } = {}) {
  const emu = expectStatus(await call(base, "POST", "/emulator/control/apps", { appId }), [201], "emulator app");
  expectStatus(await call(base, "PUT", `/emulator/control/apps/${appId}/webhook`, { url: `http://orchestrator.local/v1/webhooks/kaleyra/${appId}` }), [200], "emulator webhook");
  const admin = { Authorization: `Bearer ${adminToken}` };
  const wake = { events: CALL_EVENTS, webPush: { enabled: true, contact: "mailto:ops@kaleyra-edge.dev" }, ...(limits && { limits }) };
  const record = expectStatus(await call(base, "PUT", `/v1/apps/${appId}`, { environment: "sandbox", region: "eu", kaleyraApiKey: emu.apiKey, maxSessions: 100_000, wake }, admin), [200, 201], "admin PUT app");
  const key = expectStatus(await call(base, "POST", `/v1/apps/${appId}/tenant-keys`, undefined, admin), [201], "tenant key");
  return { appId, apiKey: emu.apiKey, vapidPublicKey: record.vapidPublicKey, tenantKey: key.key };
}

/** An emulator token for the user (created first if missing). */
export async function userToken(base, app, userId) {
  const headers = { apikey: app.apiKey };
  expectStatus(await call(base, "POST", "/emulator/v2/users", { user_id: userId, role: "plus" }, headers), [201, 409], `user ${userId}`);
  return expectStatus(await call(base, "POST", "/emulator/v2/sdk/credentials", { user_id: userId, expires_in: 3_600 }, headers), [200], "credentials").access_token;
}

/** A raw client that proves itself with a token, connects the user's session, and records frames. */
export async function connectClient(base, app, userId) {
  const token = await userToken(base, app, userId);
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/apps/${app.appId}/socket?environment=sandbox&region=eu&userId=${encodeURIComponent(userId)}`);
  const frames = [];
  let closed = false;
  ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data)));
  ws.addEventListener("close", () => (closed = true));
  const client = {
    frames,
    get closed() {
      return closed;
    },
    send: (frame) => ws.send(JSON.stringify(frame)),
    waitFor: (what, pick, ms = 10_000) => until(`${userId}: ${what} (frames: ${JSON.stringify(frames.slice(-5))})`, () => pick(frames), ms, 10),
    async close() {
      ws.close();
      await until(`${userId}'s socket to close`, () => closed, 5_000, 10);
    },
  };
  await client.waitFor("auth_required", (f) => f.some((x) => x.type === "auth_required"));
  client.send({ type: "auth", token });
  await client.waitFor("connected", (f) => f.some((x) => x.type === "state" && !x.proof && x.state.status === "connected"));
  client.send({ type: "connect", userId });
  return client;
}

/** A subscription of the local push service bound to the app's key: what pushManager.subscribe() gives. */
export async function localSubscription(base, app) {
  return expectStatus(await call(base, "POST", "/push-control/subscriptions", { applicationServerKey: app.vapidPublicKey }), [201], "local push subscription");
}

/** Gives the session the subscription on the client's socket; resolves on push_subscribed. */
export async function subscribeClient(client, app, sub) {
  const { id: _id, ...subscription } = sub;
  client.send({ type: "push_subscribe", subscription, applicationServerKey: app.vapidPublicKey });
  const answer = await client.waitFor("a push answer", (f) => f.find((x) => x.type?.startsWith("push_") && x.endpoint === sub.endpoint));
  if (answer.type !== "push_subscribed") throw new Error(`push_subscribe refused: ${JSON.stringify(answer)}`);
}

/** The emulator sends call:incoming on the user's Kaleyra connection (a relayed event). */
export async function ringRelayed(base, app, userId, callId) {
  return expectStatus(await call(base, "POST", "/emulator/control/relay/events", { appId: app.appId, userId, name: "call:incoming", data: { callId, from: "caller" } }), [200], "emulator call:incoming");
}

/** A room with these users in the emulator, told to the orchestrator as the tenant does (its room index). */
export async function roomFor(base, app, userIds) {
  for (const userId of userIds) expectStatus(await call(base, "POST", "/emulator/v2/users", { user_id: userId, role: "plus" }, { apikey: app.apiKey }), [201, 409], `user ${userId}`);
  const room = expectStatus(await call(base, "POST", "/emulator/v2/rooms", { participants: userIds.map((user_id) => ({ user_id })) }, { apikey: app.apiKey }), [201], "emulator room");
  expectStatus(await call(base, "PUT", `/v1/tenant/apps/${app.appId}/rooms/${room.room_id}/users`, { userIds }, { Authorization: `Bearer ${app.tenantKey}` }), [200], "tenant room index");
  return room.room_id;
}

/** The emulator rings the room with Kaleyra's v0 webhook (`on_call_incoming`, room-id-hmac). */
export async function ringV0(base, app, roomId) {
  return expectStatus(await call(base, "POST", `/emulator/control/apps/${app.appId}/rooms/${roomId}/incoming-call-v0`), [200], "emulator v0 on_call_incoming");
}

/** What the local push service received (decrypted, each with its arrival time) and refused. */
export async function pushLog(base) {
  return expectStatus(await call(base, "GET", "/push-control/received"), [200], "push log");
}

/** The pushes to this subscription, waiting (bounded) until `count` arrived. */
export async function pushesTo(base, sub, count = 1, ms = 10_000) {
  let got = [];
  await until(`${count} push(es) at ${sub.id}`, async () => (got = (await pushLog(base)).received.filter((r) => r.subscriptionId === sub.id)).length >= count, ms, 10);
  return got;
}

export const newRun = () => randomBytes(3).toString("hex");
export { sleep, until };
