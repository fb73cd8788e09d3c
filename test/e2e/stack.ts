/**
 * The whole local stack for end-to-end tests: an app registered in the orchestrator (admin API)
 * and in the emulator (control API), its webhooks delivered in-process, clients attached through
 * the Worker's socket route.
 */
import { env, SELF } from "cloudflare:test";
import { localWebhookUrl } from "../../dev/local-emulator";
import { userSession } from "../../durable-objects/stubs";
import { call, createApp, createRoom, createUser, resetEmulator, type TestApp } from "../../dev/emulator/testing";
import { sessionKeyOf, TestClient, TICKET_SECRET, ticketFor, type SessionStub, type TestKey } from "../harness";

export const ADMIN = { Authorization: "Bearer test-admin-token" };

export async function registerApp(settings: Record<string, unknown> = {}, withApiKey = false): Promise<TestApp> {
  await resetEmulator();
  const app = await createApp();
  const webhook = await call("PUT", `/control/apps/${app.appId}/webhook`, { body: { url: localWebhookUrl(app.appId) } });
  if (webhook.status !== 200) throw new Error(`webhook url: ${webhook.status} ${webhook.text}`);
  const body = {
    environment: "sandbox",
    region: "eu",
    attachModes: ["token", "resume", "ticket"],
    attachTicketSecret: TICKET_SECRET,
    ...settings,
    ...(withApiKey ? { kaleyraApiKey: app.apiKey } : {}),
  };
  const res = await SELF.fetch(`http://edge.test/v1/apps/${app.appId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`register app: ${res.status} ${await res.text()}`);
  return app;
}

/**
 * Opens a socket through the Worker and proves it: a token socket with a ticket, a link socket with
 * its link (the connect frame, which also connects the link session).
 */
export async function attachVia(appId: string, key: TestKey, options: { prove?: boolean } = {}): Promise<TestClient> {
  const routed = await sessionKeyOf(key);
  const who = routed.kind === "token" ? `userId=${routed.userId}` : `link=${routed.linkDigest}`;
  const res = await SELF.fetch(`http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&${who}`, { headers: { Upgrade: "websocket" } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`attach: ${res.status}`);
  res.webSocket.accept();
  const client = new TestClient(res.webSocket);
  await client.waitFor((c) => c.frames.length > 0, "first frame");
  if (options.prove !== false && client.ofType("auth_required").length === 1) {
    client.send(key.kind === "token" ? { type: "auth", ticket: await ticketFor(appId, key.userId) } : { type: "connect", accessLink: key.accessLink });
    await client.waitFor((c) => c.ofType("state").length > 0 || c.ofType("error")[0], "state after proof");
  }
  return client;
}

export async function stubFor(appId: string, key: TestKey): Promise<SessionStub> {
  return userSession(env, appId, await sessionKeyOf(key));
}

export async function mintToken(app: TestApp, userId: string, expiresIn = 3_600): Promise<string> {
  const answer = await call("POST", "/v2/sdk/credentials", { apiKey: app.apiKey, body: { user_id: userId, expires_in: expiresIn } });
  if (answer.status !== 200) throw new Error(`mint: ${answer.status} ${answer.text}`);
  return answer.json.access_token as string;
}

/** Answers the client's next token request (index `n`) with a freshly minted token. */
export async function answerWithMinted(client: TestClient, app: TestApp, userId: string, n: number, expiresIn = 3_600) {
  const request = await client.nextTokenRequest(n);
  client.send({ type: "token", requestId: request.requestId, token: await mintToken(app, userId, expiresIn) });
  return request;
}

/** Alice's token session, as the tests name it. */
export const alice = { kind: "token", userId: "alice" } as const;

/**
 * A connected token session of alice's in a fresh app, her token minted by the emulator;
 * `realtime`: the emulator's realtime faults, set before she connects.
 */
export async function connectedAlice(expiresIn = 3_600, realtime?: Record<string, unknown>): Promise<{ app: TestApp; stub: SessionStub; client: TestClient }> {
  const app = await registerApp(); // resets the emulator, its realtime faults too
  await createUser(app, "alice");
  if (realtime) await call("PUT", "/control/realtime", { body: realtime });
  const stub = await stubFor(app.appId, alice);
  const client = await attachVia(app.appId, alice);
  client.send({ type: "connect", userId: "alice" });
  await answerWithMinted(client, app, "alice", 0, expiresIn);
  await client.waitForStatus("connected");
  return { app, stub, client };
}

/** A connected access-link session of bob's, in a room of its own of a fresh app (with its API key, for webhooks). */
export async function connectedLink(): Promise<{ app: TestApp; stub: SessionStub; client: TestClient; roomId: string }> {
  const app = await registerApp({}, true);
  await createUser(app, "bob");
  const room = await createRoom(app, ["bob"]);
  const link = { kind: "access_link", accessLink: room.participants[0]!.access_link } as const;
  const stub = await stubFor(app.appId, link);
  const client = await attachVia(app.appId, link);
  client.send({ type: "connect", accessLink: link.accessLink });
  await client.waitForStatus("connected");
  return { app, stub, client, roomId: room.room_id };
}

/** Realtime connections the emulator holds open for the user (its Socket.IO endpoint). */
export async function openConnections(app: TestApp, userId = "alice"): Promise<number> {
  return ((await call("GET", `/control/connections?appId=${app.appId}&userId=${userId}`)).json.connections as unknown[]).length;
}
