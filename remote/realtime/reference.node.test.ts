/**
 * Our realtime client against the reference Socket.IO server (the `socket.io` package, in Node),
 * set up to play Kaleyra as KALEYRA-FACTS.md describes it: auth in CONNECT, a refusal named in the
 * CONNECT_ERROR, `switchboard:connected`, pings, server events, the token update ack,
 * `user:force_disconnect` with an ack. The socket is Node's global WebSocket.
 */
import { Server, type Socket } from "socket.io";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { attachSocket, realtimeAuth, RealtimeConnection, realtimeUrl, type RealtimeReport } from "./index";

const GOOD = "good-token";
const INFO = { sdkName: "kaleyra-edge", sdkVersion: "0.1.0", clientName: "kaleyra-edge", client: "node-test", userAgent: "vitest" };

let io: Server;
let port: number;
const handshakes: { auth: Record<string, unknown>; query: Record<string, unknown> }[] = [];
const serverSockets: Socket[] = [];
const open: RealtimeConnection[] = [];

beforeAll(async () => {
  io = new Server({ path: "/sdk/socket", transports: ["websocket"], pingInterval: 100, pingTimeout: 2_000 });
  io.use((socket, next) => {
    handshakes.push({ auth: socket.handshake.auth, query: socket.handshake.query });
    if (socket.handshake.auth["access-token"] === GOOD) return next();
    next(new Error(socket.handshake.auth["access-token"] === "expired" ? "access_token_expired" : "access_token_invalid"));
  });
  io.on("connection", (socket) => {
    serverSockets.push(socket);
    socket.emit("switchboard:connected", { user: { userId: socket.handshake.auth["user-id"] }, company: { id: "company-1" } });
    socket.on("switchboard:access_token:update", (data: { accessToken?: unknown } | undefined, ack: (answer: unknown) => void) => {
      ack(data?.accessToken === "new-token" ? { status: 200, data: {} } : { error: "access_token_invalid" });
    });
  });
  io.listen(0);
  const http = io.httpServer;
  await new Promise<void>((resolve, reject) => {
    if (http.listening) return resolve();
    http.once("listening", () => resolve());
    http.once("error", reject);
  });
  const address = http.address();
  if (address === null || typeof address === "string") throw new Error("the socket.io server has no port");
  port = address.port;
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
  serverSockets.splice(0);
  handshakes.splice(0);
});

afterAll(async () => {
  await new Promise((resolve) => io.close(resolve));
});

async function connect(token = GOOD) {
  const url = realtimeUrl({ environment: "production", region: "eu", baseUrl: `http://127.0.0.1:${port}`, allowLocal: true });
  if (!url.ok) throw new Error(url.message);
  const ws = new WebSocket(url.url);
  const reports: RealtimeReport[] = [];
  const connection = new RealtimeConnection({
    socket: ws,
    auth: realtimeAuth("mAppId_ref", { kind: "token", userId: "alice", token }, INFO),
    now: Date.now,
    report: (r) => reports.push(r),
  });
  attachSocket(ws, connection);
  open.push(connection);
  const waitFor = async (type: RealtimeReport["type"]) => {
    await until(() => reports.some((r) => r.type === type), `report ${type}`);
    return reports.find((r) => r.type === type) as RealtimeReport;
  };
  return { connection, reports, waitFor };
}

async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("our realtime client against a socket.io server playing Kaleyra", () => {
  it("connects with the auth payload in CONNECT and the query Kaleyra's client sends", async () => {
    const c = await connect();
    expect(await c.waitFor("connected")).toMatchObject({ user: { userId: "alice" }, company: { id: "company-1" }, socketId: serverSockets[0]?.id });
    expect(handshakes[0]?.auth).toEqual(realtimeAuth("mAppId_ref", { kind: "token", userId: "alice", token: GOOD }, INFO));
    expect(handshakes[0]?.query).toMatchObject({ "api-version": "2.1.0", EIO: "4", transport: "websocket" });
  });

  it("reports the refusal's name from CONNECT_ERROR", async () => {
    expect(await (await connect("expired")).waitFor("refused")).toEqual({ type: "refused", name: "access_token_expired" });
    expect(await (await connect("nope")).waitFor("refused")).toEqual({ type: "refused", name: "access_token_invalid" });
  });

  it("answers every server ping with a pong, and judges liveness from the last ping", async () => {
    const c = await connect();
    await c.waitFor("connected");
    expect(c.connection.engineOpen).toMatchObject({ pingInterval: 100, pingTimeout: 2_000 });
    let pongs = 0;
    serverSockets[0]?.conn.on("packet", (packet: { type: string }) => {
      if (packet.type === "pong") pongs++;
    });
    const first = c.connection.lastPingAt as number;
    await until(() => pongs >= 2, "two pongs at the server");
    expect(c.connection.lastPingAt).toBeGreaterThan(first);
    expect(c.connection.livenessDeadline()).toBe((c.connection.lastPingAt as number) + 2_100);
    c.connection.check(Date.now());
    expect(c.connection.state).toBe("connected");
    expect(serverSockets[0]?.connected).toBe(true);
  });

  it("surfaces is_about_to_expire and refreshes with an acked switchboard:access_token:update", async () => {
    const c = await connect();
    await c.waitFor("connected");
    serverSockets[0]?.emit("switchboard:access_token:is_about_to_expire", { expiresAt: "2030-01-01T00:00:00.000Z" });
    expect(await c.waitFor("token_about_to_expire")).toEqual({ type: "token_about_to_expire", expiresAt: "2030-01-01T00:00:00.000Z" });
    expect(await c.connection.updateToken("new-token")).toEqual({ ok: true });
    expect(await c.connection.updateToken("stale")).toEqual({ ok: false, reason: "refused", error: "access_token_invalid" });
  });

  it("acknowledges user:force_disconnect and ends", async () => {
    const c = await connect();
    await c.waitFor("connected");
    let acked = false;
    serverSockets[0]?.emit("user:force_disconnect", { reason: "user_deleted" }, () => {
      acked = true;
    });
    expect(await c.waitFor("force_disconnect")).toEqual({ type: "force_disconnect", reason: "user_deleted" });
    await until(() => acked, "the server's ack callback");
    expect(c.connection.state).toBe("closed");
  });

  it("reports a server-side disconnect as lost", async () => {
    const c = await connect();
    await c.waitFor("connected");
    serverSockets[0]?.disconnect(true);
    expect(await c.waitFor("lost")).toMatchObject({ type: "lost", reason: "server_disconnect" });
  });
});
