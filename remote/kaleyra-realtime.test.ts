/**
 * RealtimeSessions against a scripted Socket.IO server (a WebSocketPair in the test): the relay's
 * side of the adapter, frame by frame. A server event that asks for an ack is acked at once, with
 * no arguments, and reported as an `event` notice; lifecycle events stay notices of their own.
 */
import { describe, expect, it } from "vitest";
import type { RemoteNotice } from "../core/port";
import { RealtimeSessions } from "./kaleyra-realtime";

/** The server's end of the socket, and every frame our client sent on it. */
function scriptedServer() {
  const sent: string[] = [];
  let server: WebSocket | undefined;
  const fetch = async () => {
    const pair = new WebSocketPair();
    server = pair[1];
    server.accept();
    server.addEventListener("message", (e) => {
      sent.push(String(e.data));
    });
    server.send('0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
    return new Response(null, { status: 101, webSocket: pair[0] });
  };
  return { fetch, sent, send: (text: string) => server!.send(text) };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe("RealtimeSessions: relayed events", () => {
  it("acks a server event that asks for one at once (no arguments) and reports it; lifecycle events stay their own notices", async () => {
    const server = scriptedServer();
    const sessions = new RealtimeSessions({ fetch: server.fetch, baseUrl: () => "http://127.0.0.1", allowLocal: true });
    const notices: RemoteNotice[] = [];
    sessions.listen((_id, notice) => notices.push(notice));
    const opening = sessions.open({ appId: "mAppId_x", environment: "sandbox", region: "eu", credential: { kind: "token", userId: "alice", token: "t" }, now: Date.now() });
    await until("CONNECT", () => server.sent.some((f) => f.startsWith("40")));
    server.send('40{"sid":"sio1"}');
    server.send('42["switchboard:connected",{"user":{"userId":"alice"},"company":{"id":"c"}}]');
    const opened = await opening;
    expect(opened.ok).toBe(true);

    server.send('427["call:incoming",{"roomId":"r1"},"extra"]');
    server.send('42["switchboard:access_token:is_about_to_expire",{"expiresAt":"2030-01-01T00:00:00Z"}]');
    server.send('42["user:status"]');
    await until("three notices", () => notices.length === 3);
    expect(notices).toEqual([
      { type: "remote_event", name: "call:incoming", data: { roomId: "r1" } },
      { type: "remote_token_expiring" },
      { type: "remote_event", name: "user:status", data: null },
    ]);
    expect(server.sent).toContain("437[]");

    // An emit with an ack: Kaleyra's { status: 200, data } gives data; { error } is remote_refused.
    const answered = sessions.emit(opened.ok ? opened.sessionId! : "", "chat:send", { text: "hi" });
    await until("the emit", () => server.sent.some((f) => f.startsWith('420["chat:send"')));
    server.send('430[{"status":200,"data":{"id":"m1"}}]');
    expect(await answered).toEqual({ ok: true, data: { id: "m1" } });
    const refused = sessions.emit(opened.ok ? opened.sessionId! : "", "chat:send", null);
    await until("the second emit", () => server.sent.some((f) => f.startsWith('421["chat:send"')));
    server.send('431[{"error":"not_allowed"}]');
    expect(await refused).toEqual({ ok: false, error: "remote_refused" });
  });
});
