import { describe, expect, it, vi } from "vitest";
import { PING_EVERY_MS, reopenDelay } from "./kaleyra-video";
import { fakeClient } from "./testing";

const token = vi.fn(async () => "tok");

async function connectedClient(options: Parameters<typeof fakeClient>[0] = {}) {
  const c = fakeClient(options);
  const p = c.kaleyra.connect("alice", token);
  const ws = c.server.last().accept();
  ws.state({ status: "disconnected" });
  ws.state({ status: "connected", mode: "token", userId: "alice" });
  await p;
  return c;
}

describe("reopenDelay: full jitter over 0.5 s doubling to a 30 s cap", () => {
  it("draws uniformly below 0.5 s, 1 s, 2 s, ... and never above 30 s", () => {
    const top = (attempt: number) => reopenDelay(attempt, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(top(5_000)).toBe(30_000);
    expect(reopenDelay(3, () => 0)).toBe(0);
    expect(reopenDelay(3, () => 0.25)).toBe(1_000);
  });
});

describe("transport: reopening a dropped socket", () => {
  it("reopens after the jittered backoff and sends connect again after the attach state", async () => {
    const { kaleyra, server, timers } = await connectedClient({ random: () => 0.5 });
    const first = server.last();
    first.drop(1006);
    expect(kaleyra.state.value).toMatchObject({ status: "connected", transport: "waiting", nextOpenAt: timers.now + 250 });
    expect(timers.pending()).toEqual([250]);
    timers.advance(249);
    expect(server.sockets).toHaveLength(1);
    timers.advance(1);
    expect(server.sockets).toHaveLength(2);
    expect(server.last().url).toBe(first.url);
    const second = server.last().accept();
    expect(second.sent).toEqual([]);
    second.state({ status: "connected", mode: "token", userId: "alice" });
    expect(second.sent).toEqual([{ type: "connect", userId: "alice" }]);
    expect(kaleyra.state.value).toMatchObject({ status: "connected", transport: "open" });
    expect(kaleyra.connectedUser).toEqual({ userId: "alice" });
  });

  it("doubles the wait while sockets fail before an attach state, and starts over after one", async () => {
    const { server, timers } = await connectedClient({ random: () => 1 });
    server.last().drop(1006);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      waits.push(timers.pending()[0]!);
      timers.advance(waits[i]!);
      server.last().drop(1006); // never accepted
    }
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    timers.advance(30_000);
    const ws = server.last().accept();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    ws.drop(1011);
    expect(timers.pending()).toEqual([500]);
  });

  it("reopens after a clean close from the server too (1000, 1001): only 4xxx is a refusal", async () => {
    const { server, timers } = await connectedClient({ random: () => 0 });
    server.last().drop(1001, "going away");
    timers.advance(0);
    expect(server.sockets).toHaveLength(2);
    server.last().accept().drop(1000);
    timers.advance(0);
    expect(server.sockets).toHaveLength(3);
  });

  it("answers a token request on the new socket after a reopen", async () => {
    let release!: (t: string) => void;
    const provider = vi.fn(() => new Promise<string>((r) => (release = r)));
    const { kaleyra, server, timers } = fakeClient({ random: () => 0 });
    void kaleyra.connect("alice", provider).catch(() => {});
    const first = server.last().accept();
    first.state({ status: "connecting", mode: "token", userId: "alice" });
    first.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    first.drop();
    timers.advance(0);
    const second = server.last().accept();
    second.state({ status: "connecting", mode: "token", userId: "alice" });
    second.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await new Promise((r) => setTimeout(r, 0));
    release("tok");
    await new Promise((r) => setTimeout(r, 0));
    expect(provider).toHaveBeenCalledTimes(1);
    expect(first.sentOfType("token")).toEqual([]);
    expect(second.sentOfType("token")).toEqual([{ type: "token", requestId: "n.1", token: "tok" }]);
  });

  it("does not start a session again that ended while the socket was away", async () => {
    const { kaleyra, server, timers, storage } = await connectedClient({ random: () => 0 });
    server.last().drop();
    timers.advance(0);
    const ws = server.last().accept();
    ws.state({ status: "disconnected", mode: "token", userId: "alice", error: "user_inactive", reason: "user_inactive" });
    expect(ws.sent).toEqual([]);
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.connectedUser).toBeUndefined();
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", error: "user_inactive", transport: "idle" });
    expect(storage.items.has("kaleyra.session")).toBe(false);
    timers.advance(60_000);
    expect(server.sockets).toHaveLength(2);
  });

  it("stops with the server's error when a reopen is refused (the app was removed meanwhile)", async () => {
    const onError = vi.fn();
    const { kaleyra, server, timers } = await connectedClient({ random: () => 0, onError });
    server.last().drop();
    timers.advance(0);
    const ws = server.last().accept();
    ws.receive({ type: "error", code: "app_id_invalid", message: "The appId is unknown (from the server)." });
    ws.drop(4404);
    expect(onError).not.toHaveBeenCalled();
    expect(kaleyra.state.value.failure).toMatchObject({ code: "app_id_invalid", message: "The appId is unknown (from the server)." });
    expect(kaleyra.connectedUser).toBeUndefined();
    timers.advance(120_000);
    expect(server.sockets).toHaveLength(2);
  });

  it("sends connect again on reopen when the first connect never reached the server", async () => {
    const { kaleyra, server, timers } = fakeClient({ random: () => 0 });
    const p = kaleyra.connect("alice", token);
    const first = server.last().accept();
    first.state({ status: "disconnected" });
    first.drop();
    timers.advance(0);
    const second = server.last().accept();
    second.state({ status: "disconnected" });
    expect(second.sent).toEqual([{ type: "connect", userId: "alice" }]);
    second.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await p).toEqual({ userId: "alice" });
  });
});

describe("transport: offline", () => {
  it("pauses while offline and reopens at once when the device is back online", async () => {
    const { kaleyra, server, timers, network } = await connectedClient();
    network.goOffline();
    server.last().drop();
    expect(kaleyra.state.value.transport).toBe("offline");
    expect(timers.pending()).toEqual([]);
    timers.advance(600_000);
    expect(server.sockets).toHaveLength(1);
    expect(network.listening).toBe(1);
    network.goOnline();
    expect(server.sockets).toHaveLength(2);
    // The one listener left is the new socket's own watch for network changes.
    expect(network.listening).toBe(1);
    expect(kaleyra.state.value.transport).toBe("opening");
  });

  it("replaces an open socket at once when the network comes back (it may be dead without a close)", async () => {
    const { server, network } = await connectedClient();
    const first = server.last();
    network.goOnline();
    expect(server.sockets).toHaveLength(2);
    expect(first.closedByClient).toBe(1000);
  });

  it("keep-alive: a ping every 25 s; a pong keeps the socket, no pong by the next ping replaces it", async () => {
    const { server, timers } = await connectedClient();
    const ws = server.last();
    timers.advance(PING_EVERY_MS);
    expect(ws.pings).toBe(1);
    ws.receiveRaw("pong");
    timers.advance(PING_EVERY_MS);
    expect(ws.pings).toBe(2);
    expect(server.sockets).toHaveLength(1);
    // No pong this time: at the next beat the socket counts as dead and a new one opens.
    timers.advance(PING_EVERY_MS);
    expect(server.sockets).toHaveLength(2);
    expect(ws.closedByClient).toBe(1000);
  });

  it("pauses when the backoff ends while offline", async () => {
    const { server, timers, network } = await connectedClient({ random: () => 1 });
    server.last().drop();
    network.goOffline();
    timers.advance(500);
    expect(server.sockets).toHaveLength(1);
    network.goOnline();
    expect(server.sockets).toHaveLength(2);
  });

  it("waits for the network before the first socket of a connect", async () => {
    const { kaleyra, server, network } = fakeClient();
    network.goOffline();
    const p = kaleyra.connect("alice", token);
    expect(server.sockets).toHaveLength(0);
    expect(kaleyra.state.value).toMatchObject({ status: "connecting", transport: "offline" });
    network.goOnline();
    server.last().accept().state({ status: "connected", mode: "token", userId: "alice" });
    expect(await p).toEqual({ userId: "alice" });
  });

  it("stops listening for the network when the session is disconnected meanwhile", async () => {
    const { kaleyra, server, network, timers } = await connectedClient();
    network.goOffline();
    server.last().drop();
    const done = kaleyra.disconnect();
    done.catch(() => {});
    // disconnect() needs the server: it waits for the network too, within its bound.
    expect(network.listening).toBe(1);
    timers.advance(20_000);
    await expect(done).rejects.toMatchObject({ code: "disconnect_unconfirmed" });
    expect(network.listening).toBe(0);
    network.goOnline();
    expect(server.sockets).toHaveLength(1);
  });
});
