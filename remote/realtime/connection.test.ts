import { beforeEach, describe, expect, it } from "vitest";
import { realtimeAuth } from "./auth";
import { HANDSHAKE_TIMEOUT_MS } from "../../core/port";
import { ACK_TIMEOUT_MS, RealtimeConnection } from "./connection";
import type { RealtimeReport } from "./reports";
import { connectErrorName } from "./events";

class FakeSocket {
  sent: string[] = [];
  closed: { code?: number; reason?: string } | undefined;
  send(text: string): void {
    if (this.closed) throw new Error("closed");
    this.sent.push(text);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }
}

const AUTH = realtimeAuth("mAppId_x", { kind: "token", userId: "alice", token: "tok1" }, { sdkName: "kaleyra-edge", sdkVersion: "0.1.0", clientName: "kaleyra-edge", client: "server", userAgent: "kaleyra-edge/0.1.0" });
const OPEN = '0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';

let now: number;
let socket: FakeSocket;
let reports: RealtimeReport[];
let conn: RealtimeConnection;

beforeEach(() => {
  now = 1_000_000;
  socket = new FakeSocket();
  reports = [];
  conn = new RealtimeConnection({ socket, auth: AUTH, now: () => now, report: (r) => reports.push(r) });
});

function connect(): void {
  conn.receive(OPEN);
  conn.receive('40{"sid":"sio1"}');
  conn.receive('42["switchboard:connected",{"user":{"userId":"alice"},"company":{"id":"c1"}}]');
}

describe("handshake", () => {
  it("answers the open packet with CONNECT carrying the auth payload, then is connected on switchboard:connected", () => {
    conn.receive(OPEN);
    expect(conn.state).toBe("connecting");
    expect(socket.sent).toEqual([
      '40{"app-id":"mAppId_x","user-id":"alice","access-token":"tok1","sdk-name":"kaleyra-edge","sdk-version":"0.1.0","client-name":"kaleyra-edge","client":"server","user-agent":"kaleyra-edge/0.1.0"}',
    ]);
    conn.receive('40{"sid":"sio1"}');
    expect(conn.state).toBe("connecting");
    expect(reports).toEqual([]);
    conn.receive('42["switchboard:connected",{"user":{"userId":"alice"},"company":{"id":"c1"}}]');
    expect(conn.state).toBe("connected");
    expect(conn.socketId).toBe("sio1");
    expect(reports).toEqual([{ type: "connected", user: { userId: "alice" }, company: { id: "c1" }, socketId: "sio1" }]);
  });

  it("sends a link's auth with user-id null and a reconnect's socket-id", () => {
    const auth = realtimeAuth("mAppId_x", { kind: "access_link", accessLink: "https://l/x" }, { sdkName: "a", sdkVersion: "b", clientName: "c", client: "d", userAgent: "e" }, "sio0");
    expect(auth).toEqual({ "app-id": "mAppId_x", "user-id": null, "access-link": "https://l/x", "sdk-name": "a", "sdk-version": "b", "client-name": "c", client: "d", "user-agent": "e", "socket-id": "sio0" });
  });

  it("reports a CONNECT_ERROR as refused with its name, closes the socket, and reports nothing after", () => {
    conn.receive(OPEN);
    conn.receive('44{"message":"access_token_expired"}');
    expect(reports).toEqual([{ type: "refused", name: "access_token_expired" }]);
    expect(conn.state).toBe("closed");
    expect(socket.closed).toBeDefined();
    conn.receive('42["switchboard:connected",{}]');
    conn.socketClosed();
    conn.check(now + 10 * HANDSHAKE_TIMEOUT_MS);
    expect(reports).toHaveLength(1);
  });

  it("times the handshake out at the deadline, not before", () => {
    conn.receive(OPEN);
    expect(conn.nextDeadline()).toBe(now + HANDSHAKE_TIMEOUT_MS);
    conn.check(now + HANDSHAKE_TIMEOUT_MS - 1);
    expect(reports).toEqual([]);
    conn.check(now + HANDSHAKE_TIMEOUT_MS);
    expect(reports).toEqual([{ type: "lost", reason: "handshake_timeout" }]);
    expect(conn.nextDeadline()).toBeUndefined();
  });

  it.each([
    ["garbage", "protocol_error"],
    ['42["switchboard:connected",{}]', "protocol_error"], // a message before the open packet
    ['451-["x",{"_placeholder":true,"num":0}]', "protocol_error"],
  ])("loses the connection on a bad frame %j", (frame, reason) => {
    conn.receive(frame);
    expect(reports).toMatchObject([{ type: "lost", reason }]);
  });

  it("refuses a CONNECT without sid, and an event before CONNECT's answer", () => {
    conn.receive(OPEN);
    conn.receive("40");
    expect(reports).toMatchObject([{ type: "lost", reason: "protocol_error" }]);
    const other = new RealtimeConnection({ socket: new FakeSocket(), auth: AUTH, now: () => now, report: (r) => reports.push(r) });
    other.receive(OPEN);
    other.receive('42["switchboard:connected",{}]');
    expect(reports.at(-1)).toMatchObject({ type: "lost", reason: "protocol_error" });
  });

  it("reports an event that comes between CONNECT and switchboard:connected, and stays connecting", () => {
    conn.receive(OPEN);
    conn.receive('40{"sid":"sio1"}');
    conn.receive('42["switchboard:client:deprecated",{"deprecationDate":"2026-01-01"}]');
    expect(conn.state).toBe("connecting");
    conn.receive('42["switchboard:connected",{}]');
    conn.receive('42["switchboard:connected",{}]');
    expect(reports.map((r) => r.type)).toEqual(["client_deprecated", "connected"]);
  });
});

describe("heartbeat", () => {
  it("answers ping with pong and judges liveness from the last ping (pingInterval + pingTimeout)", () => {
    connect();
    expect(conn.livenessDeadline()).toBe(now + 45_000);
    now += 25_000;
    conn.receive("2");
    expect(socket.sent.at(-1)).toBe("3");
    expect(conn.lastPingAt).toBe(now);
    expect(conn.nextDeadline()).toBe(now + 45_000);
    conn.check(now + 44_999);
    expect(reports.filter((r) => r.type === "lost")).toEqual([]);
    conn.check(now + 45_000);
    expect(reports.at(-1)).toEqual({ type: "lost", reason: "ping_timeout" });
    expect(socket.closed).toBeDefined();
  });

  it("treats an Engine.IO close, a Socket.IO DISCONNECT and a closed socket as lost", () => {
    connect();
    conn.receive("1");
    expect(reports.at(-1)).toEqual({ type: "lost", reason: "server_close" });
    const other = new RealtimeConnection({ socket: new FakeSocket(), auth: AUTH, now: () => now, report: (r) => reports.push(r) });
    other.receive(OPEN);
    other.receive("41");
    expect(reports.at(-1)).toEqual({ type: "lost", reason: "server_disconnect" });
    const third = new RealtimeConnection({ socket: new FakeSocket(), auth: AUTH, now: () => now, report: (r) => reports.push(r) });
    third.socketClosed("close 1006");
    expect(reports.at(-1)).toEqual({ type: "lost", reason: "socket_closed", detail: "close 1006" });
  });
});

describe("server events", () => {
  beforeEach(connect);

  it("surfaces token expiry notices and deprecation", () => {
    conn.receive('42["switchboard:access_token:is_about_to_expire",{"expiresAt":"2026-01-01T00:00:00Z"}]');
    conn.receive('42["switchboard:access_token:expired"]');
    conn.receive('42["switchboard:client:deprecated",{"deprecationDate":"2026-01-01","endOfSupportDate":"2026-06-01"}]');
    expect(reports.slice(1)).toEqual([
      { type: "token_about_to_expire", expiresAt: "2026-01-01T00:00:00Z" },
      { type: "token_expired" },
      { type: "client_deprecated", deprecationDate: "2026-01-01", endOfSupportDate: "2026-06-01" },
    ]);
    expect(conn.state).toBe("connected");
  });

  it("acknowledges user:force_disconnect, reports it as final and closes", () => {
    conn.receive('427["user:force_disconnect",{"reason":"user_deleted"}]');
    expect(socket.sent.at(-1)).toBe("437[]");
    expect(reports.slice(1)).toEqual([{ type: "force_disconnect", reason: "user_deleted" }]);
    conn.socketClosed();
    expect(reports).toHaveLength(2);
  });

  it("relays any other event with its ack id, and acknowledges on request", () => {
    conn.receive('425["call:incoming",{"roomId":"r1"},2]');
    expect(reports.at(-1)).toEqual({ type: "server_event", name: "call:incoming", args: [{ roomId: "r1" }, 2], ackId: 5 });
    conn.acknowledge(5, [{ ok: true }]);
    expect(socket.sent.at(-1)).toBe('435[{"ok":true}]');
  });
});

describe("updateToken", () => {
  it("emits switchboard:access_token:update with an ack and resolves ok on {status: 200}", async () => {
    connect();
    const result = conn.updateToken("tok2");
    expect(socket.sent.at(-1)).toBe('420["switchboard:access_token:update",{"accessToken":"tok2"}]');
    conn.receive('430[{"status":200,"data":{}}]');
    expect(await result).toEqual({ ok: true });
  });

  it("resolves refused with the server's error", async () => {
    connect();
    const result = conn.updateToken("bad");
    conn.receive('430[{"error":"access_token_invalid"}]');
    expect(await result).toEqual({ ok: false, reason: "refused", error: "access_token_invalid" });
  });

  it("times out at the ack deadline, which nextDeadline reports; a late ack changes nothing", async () => {
    connect();
    const result = conn.updateToken("tok2");
    expect(conn.nextDeadline()).toBe(now + ACK_TIMEOUT_MS);
    conn.check(now + ACK_TIMEOUT_MS);
    expect(await result).toEqual({ ok: false, reason: "timeout" });
    conn.receive('430[{"status":200}]');
    expect(conn.state).toBe("connected");
  });

  it("settles as lost when the connection drops, and as not_connected before connecting", async () => {
    expect(await conn.updateToken("x")).toEqual({ ok: false, reason: "not_connected" });
    connect();
    const result = conn.updateToken("tok2");
    conn.socketClosed();
    expect(await result).toEqual({ ok: false, reason: "lost" });
  });
});

describe("close by the owner", () => {
  it("sends DISCONNECT, closes the socket and reports lost(closed_by_owner) once", () => {
    connect();
    conn.close();
    expect(socket.sent.at(-1)).toBe("41");
    expect(socket.closed).toBeDefined();
    conn.close();
    expect(reports.slice(1)).toEqual([{ type: "lost", reason: "closed_by_owner" }]);
  });
});

describe("connectErrorName", () => {
  it.each([
    [{ message: "access_token_expired" }, "access_token_expired"],
    ["user_not_found", "user_not_found"],
    [{ message: "Not authorized", data: { name: "app_id_invalid" } }, "app_id_invalid"],
    [{ name: "sdk_version_unsupported", message: "The SDK version is no longer supported" }, "sdk_version_unsupported"],
    [{ message: "Not authorized" }, "Not authorized"],
    [{}, "unknown"],
    [{ message: 42 }, "unknown"],
  ])("%j -> %s", (data, name) => {
    expect(connectErrorName(data)).toBe(name);
  });
});

describe("emitWithAck", () => {
  it("sends an EVENT with the next ack id and resolves with the server's ack arguments, in any order", async () => {
    connect();
    const first = conn.emitWithAck("chat:send", [{ text: "hi" }]);
    const second = conn.emitWithAck("ping", []);
    expect(socket.sent.slice(-2)).toEqual(['420["chat:send",{"text":"hi"}]', '421["ping"]']);
    conn.receive('431[{"status":200,"data":"pong"}]');
    conn.receive('430[{"status":200,"data":{"id":"m1"}},"extra"]');
    expect(await first).toEqual({ ok: true, args: [{ status: 200, data: { id: "m1" } }, "extra"] });
    expect(await second).toEqual({ ok: true, args: [{ status: 200, data: "pong" }] });
  });

  it("times out at its own deadline through check (no timer); a late ack changes nothing", async () => {
    connect();
    const result = conn.emitWithAck("slow", []);
    now += 1_000;
    const later = conn.emitWithAck("slower", []);
    expect(conn.nextDeadline()).toBe(now - 1_000 + ACK_TIMEOUT_MS);
    conn.check(now - 1_000 + ACK_TIMEOUT_MS);
    expect(await result).toEqual({ ok: false, reason: "timeout" });
    conn.receive('430[{"status":200}]');
    conn.receive('431[{"status":200}]');
    expect(await later).toEqual({ ok: true, args: [{ status: 200 }] });
    expect(conn.state).toBe("connected");
  });

  it("is not_connected before switchboard:connected, and lost when the connection ends first", async () => {
    conn.receive(OPEN);
    expect(await conn.emitWithAck("x", [])).toEqual({ ok: false, reason: "not_connected" });
    conn.receive('40{"sid":"sio1"}');
    conn.receive('42["switchboard:connected",{}]');
    const pending = conn.emitWithAck("x", []);
    conn.receive("1");
    expect(await pending).toEqual({ ok: false, reason: "lost" });
  });
});
