/**
 * The reference Socket.IO client (the `socket.io-client` package, in Node) against the emulator's
 * endpoint, served by wrangler's programmatic dev server (test/node/local-worker.ts).
 * What Kaleyra's own web client does: path /sdk/socket, query api-version=2.1.0, websocket
 * transport, credentials in `auth`.
 */
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "../../test/node/local-worker";

let worker: LocalWorker | undefined;
let base: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  worker = await startLocalWorker();
  base = worker.base;
});

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await worker?.dispose();
});

let app: { appId: string; apiKey: string; companyId: string };

async function call(method: string, path: string, body?: unknown, apiKey?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey !== undefined) headers.apikey = apiKey;
  const response = await fetch(`${base}/emulator${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, json: text === "" ? {} : JSON.parse(text) };
}

async function mint(userId: string): Promise<string> {
  return (await call("POST", "/v2/sdk/credentials", { user_id: userId, expires_in: 3_600 }, app.apiKey)).json.access_token as string;
}

beforeEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  expect((await call("POST", "/control/reset")).status).toBe(204);
  app = (await call("POST", "/control/apps", { appId: `mAppId_ref${Math.floor(Math.random() * 1e9)}` })).json as typeof app;
  expect((await call("POST", "/v2/users", { user_id: "alice", role: "plus" }, app.apiKey)).status).toBe(201);
});

function connect(auth: Record<string, unknown>): Socket {
  const socket = io(base, {
    path: "/emulator/sdk/socket",
    query: { "api-version": "2.1.0" },
    transports: ["websocket"],
    reconnection: false,
    timeout: 5_000,
    auth,
  });
  sockets.push(socket);
  return socket;
}

function auth(token: string, appId = app.appId): Record<string, unknown> {
  return { "app-id": appId, "user-id": "alice", "access-token": token, "sdk-name": "socket.io-client", "sdk-version": "4.8.4", "client-name": "reference", client: "node", "user-agent": "vitest" };
}

function next<T>(socket: Socket, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5_000);
    socket.once(event, (value: T) => {
      clearTimeout(limit);
      resolve(value);
    });
  });
}

describe("socket.io-client against the emulator's /sdk/socket/", () => {
  it("connects and receives switchboard:connected {user, company}", async () => {
    const socket = connect(auth(await mint("alice")));
    const connected = await next<{ user: unknown; company: unknown }>(socket, "switchboard:connected");
    expect(connected).toEqual({ user: { userId: "alice" }, company: { id: app.companyId } });
    expect(socket.connected).toBe(true);
    expect(socket.id).toEqual(expect.any(String));
  });

  it("gets a refusal as connect_error with Kaleyra's name", async () => {
    const unknownApp = connect(auth(await mint("alice"), "mAppId_nobody"));
    expect((await next<Error>(unknownApp, "connect_error")).message).toBe("app_id_invalid");
    const badToken = connect(auth("not.a.token"));
    expect((await next<Error>(badToken, "connect_error")).message).toBe("access_token_invalid");
    await call("PUT", "/control/realtime", { connectRefusal: "sdk_version_unsupported" });
    const refused = connect(auth(await mint("alice")));
    expect((await next<Error>(refused, "connect_error")).message).toBe("sdk_version_unsupported");
  });

  it("receives a server event the control API sends", async () => {
    const socket = connect(auth(await mint("alice")));
    await next(socket, "switchboard:connected");
    const event = next<{ expiresAt: string }>(socket, "switchboard:access_token:is_about_to_expire");
    expect((await call("POST", "/control/connections/emit", { appId: app.appId, userId: "alice", event: "is_about_to_expire", data: { expiresAt: "2030-01-01T00:00:00.000Z" } })).json).toMatchObject({ delivered: 1 });
    expect(await event).toEqual({ expiresAt: "2030-01-01T00:00:00.000Z" });
  });

  it("gets switchboard:access_token:update acked: {status: 200, data} for a good token, {error} for a bad one", async () => {
    const socket = connect(auth(await mint("alice")));
    await next(socket, "switchboard:connected");
    const ok = await socket.timeout(5_000).emitWithAck("switchboard:access_token:update", { accessToken: await mint("alice") });
    expect(ok).toMatchObject({ status: 200, data: { expiresAt: expect.any(String) } });
    expect(await socket.timeout(5_000).emitWithAck("switchboard:access_token:update", { accessToken: "bad" })).toEqual({ error: "access_token_invalid" });
  });

  it("acks user:force_disconnect through the client's callback, then the server disconnects it", async () => {
    const socket = connect(auth(await mint("alice")));
    await next(socket, "switchboard:connected");
    socket.on("user:force_disconnect", (_data: unknown, ack: () => void) => ack());
    const reason = next<string>(socket, "disconnect");
    await call("POST", "/control/connections/emit", { appId: app.appId, userId: "alice", event: "force_disconnect" });
    expect(await reason).toBe("io server disconnect");
  });

  it("keeps a connection alive on the emulator's pings and drops it when pings stop", async () => {
    await call("PUT", "/control/realtime", { pingIntervalMs: 100, pingTimeoutMs: 800 });
    const socket = connect(auth(await mint("alice")));
    await next(socket, "switchboard:connected");
    let pings = 0;
    socket.io.engine.on("ping", () => pings++);
    const end = Date.now() + 5_000;
    while (pings < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(socket.connected).toBe(true);
    const reason = next<string>(socket, "disconnect");
    await call("PUT", "/control/realtime", { pingIntervalMs: 100, pingTimeoutMs: 800, stopPinging: true });
    expect(await reason).toBe("ping timeout");
  });
});
