import { describe, expect, it, vi } from "vitest";
import { DISCONNECT_WAIT_MS, Environment, KaleyraVideo, Region, type ClientState } from "./kaleyra-video";
import { APP, fakeClient, fakeSockets, MemoryStorage, settle } from "./testing";

const token = vi.fn(async () => "tok");
const CONFIG_KEY = "kaleyra.configuration";
const SESSION_KEY = "kaleyra.session";

async function connectedClient(options: Parameters<typeof fakeClient>[0] = {}) {
  const c = fakeClient(options);
  const p = c.kaleyra.connect("alice", token);
  const ws = c.server.last().accept();
  ws.state({ status: "disconnected" });
  ws.state({ status: "connected", mode: "token", userId: "alice" });
  await p;
  return { ...c, ws };
}

describe("configure", () => {
  it("names environments and regions as the SDK does", () => {
    expect(Environment).toEqual({ Production: "production", Sandbox: "sandbox" });
    expect(Region).toEqual({ Europe: "eu", India: "in", US: "us" });
  });

  it("accepts a valid configuration, reports isConfigured and saves it", () => {
    const { kaleyra, storage } = fakeClient({ configured: false });
    expect(kaleyra.isConfigured).toBe(false);
    expect(kaleyra.configure({ appId: "mAppId_x1", environment: Environment.Production, region: Region.US })).toBe(true);
    expect(kaleyra.isConfigured).toBe(true);
    expect(storage.json(CONFIG_KEY)).toEqual({ appId: "mAppId_x1", environment: "production", region: "us" });
  });

  it.each([
    ["an appId without the mAppId_ prefix", { ...APP, appId: "app_1" }],
    ["an empty appId", { ...APP, appId: "" }],
    ["an unknown environment", { ...APP, environment: "staging" }],
    ["an unknown region", { ...APP, region: "asia" }],
    ["a missing region", { appId: APP.appId, environment: APP.environment }],
    ["null", null],
    ["a string", "mAppId_x"],
  ])("returns false and changes nothing for %s", (_, input) => {
    const { kaleyra, storage } = fakeClient({ configured: false });
    expect(kaleyra.configure(input as never)).toBe(false);
    expect(kaleyra.isConfigured).toBe(false);
    expect(storage.items.size).toBe(0);
    kaleyra.configure(APP);
    expect(kaleyra.configure(input as never)).toBe(false);
    expect(storage.json(CONFIG_KEY)).toEqual(APP);
  });

  it("keeps only the three fields", () => {
    const { kaleyra, storage } = fakeClient({ configured: false });
    expect(kaleyra.configure({ ...APP, apiKey: "ak_live_secret" } as never)).toBe(true);
    expect(storage.json(CONFIG_KEY)).toEqual(APP);
  });

  it("refuses another configuration while a session is live, and takes the same one", async () => {
    const { kaleyra, storage } = await connectedClient();
    expect(kaleyra.configure({ ...APP, region: "us" })).toBe(false);
    expect(storage.json(CONFIG_KEY)).toEqual(APP);
    expect(kaleyra.configure(APP)).toBe(true);
  });

  it("a reloaded page restores the saved configuration, and ignores a corrupt one", () => {
    const { reload, storage } = fakeClient();
    expect(reload().isConfigured).toBe(true);
    storage.setItem(CONFIG_KEY, "{not json");
    expect(reload().isConfigured).toBe(false);
    storage.setItem(CONFIG_KEY, JSON.stringify({ ...APP, region: "mars" }));
    expect(reload().isConfigured).toBe(false);
  });

  it("persists nothing with storage: null", () => {
    const server = fakeSockets();
    const kaleyra = new KaleyraVideo({ server: "http://localhost:8787", WebSocket: server.WebSocket, storage: null });
    expect(kaleyra.configure(APP)).toBe(true);
    expect(new KaleyraVideo({ server: "http://localhost:8787", WebSocket: server.WebSocket, storage: null }).isConfigured).toBe(false);
  });

  it("refuses a server that is not an http(s) or ws(s) URL", () => {
    const { WebSocket } = fakeSockets();
    expect(() => new KaleyraVideo({ server: "localhost:8787", WebSocket })).toThrow(TypeError);
    expect(() => new KaleyraVideo({ server: "http://", WebSocket })).toThrow(TypeError);
  });

  it("says in one sentence, with a stable code, that the runtime has no WebSocket", () => {
    vi.stubGlobal("WebSocket", undefined);
    try {
      expect(() => new KaleyraVideo({ server: "http://localhost:8787", storage: null })).toThrow(
        expect.objectContaining({ name: "KaleyraError", code: "websocket_unavailable", message: expect.stringMatching(/^No WebSocket in this runtime: .*options\.WebSocket\.$/) }),
      );
    } finally {
      vi.unstubAllGlobals();
    }
    // Passing one works on such a runtime.
    expect(new KaleyraVideo({ server: "http://localhost:8787", storage: null, WebSocket: fakeSockets().WebSocket }).isConfigured).toBe(false);
  });
});

describe("state", () => {
  it("subscribe hears the current value at once and every change; unsubscribe stops it", async () => {
    const { kaleyra, server } = fakeClient();
    const seen: ClientState[] = [];
    const unsubscribe = kaleyra.state.subscribe((v) => seen.push(v));
    expect(seen).toEqual([kaleyra.state.value]);
    expect(seen[0]).toMatchObject({ status: "disconnected", transport: "idle" });
    void kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "connecting", mode: "token", userId: "alice" });
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(seen.map((v) => `${v.status}/${v.transport}`)).toEqual([
      "disconnected/idle",
      "connecting/opening",
      "connecting/open",
      "connecting/open",
      "connected/open",
    ]);
    unsubscribe();
    ws.state({ status: "connected", mode: "token", userId: "alice", refreshing: true });
    expect(seen).toHaveLength(5);
    expect(kaleyra.state.value.refreshing).toBe(true);
  });

  it("a listener that throws does not stop the others", () => {
    const { kaleyra } = fakeClient();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    kaleyra.state.subscribe(() => {
      throw new Error("boom");
    });
    const other = vi.fn();
    kaleyra.state.subscribe(other);
    void kaleyra.connect("alice", token);
    expect(other).toHaveBeenLastCalledWith(expect.objectContaining({ status: "connecting" }));
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});

describe("disconnect", () => {
  it("sends disconnect, resolves once the server takes it, closes the socket and forgets the session but not the configuration", async () => {
    const { kaleyra, ws, storage } = await connectedClient();
    expect(storage.json(SESSION_KEY)).toEqual({ appId: APP.appId, userId: "alice" });
    let done = false;
    const p = kaleyra.disconnect().then(() => (done = true));
    expect(ws.sent.at(-1)).toEqual({ type: "disconnect", clearSavedData: false });
    expect(kaleyra.state.value.status).toBe("disconnecting");
    await settle();
    expect(done).toBe(false);
    ws.state({ status: "disconnecting", mode: "token", userId: "alice" });
    await p;
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.connectedUser).toBeUndefined();
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", reason: "requested", transport: "idle" });
    expect(storage.items.has(SESSION_KEY)).toBe(false);
    expect(storage.json(CONFIG_KEY)).toEqual(APP);
    expect(kaleyra.isConfigured).toBe(true);
  });

  it("with clearSavedData deletes local data at once, asks the server to clear, and resolves on data_cleared", async () => {
    const { kaleyra, ws, storage } = await connectedClient();
    let done = false;
    const p = kaleyra.disconnect({ clearSavedData: true }).then(() => (done = true));
    expect(storage.items.has(SESSION_KEY)).toBe(false);
    expect(ws.sent.at(-1)).toEqual({ type: "disconnect", clearSavedData: true });
    ws.receive({ type: "data_cleared" });
    await p;
    expect(done).toBe(true);
    expect(ws.closedByClient).toBe(1000);
  });

  it("rejects a pending connect with disconnected", async () => {
    const { kaleyra, server } = fakeClient();
    const connecting = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "connecting", mode: "token", userId: "alice" });
    const done = kaleyra.disconnect();
    await expect(connecting).rejects.toMatchObject({ code: "disconnected" });
    ws.state({ status: "disconnected", reason: "requested" });
    await done;
    expect(ws.sent).toEqual([{ type: "connect", userId: "alice" }, { type: "disconnect", clearSavedData: false }]);
  });

  it("resolves at once with no session and nothing saved, opening no socket", async () => {
    const { kaleyra, server } = fakeClient();
    await kaleyra.disconnect({ clearSavedData: true });
    expect(server.sockets).toHaveLength(0);
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", transport: "idle" });
  });

  it("after a reload, ends the saved user's session on the server", async () => {
    const first = await connectedClient();
    const page = first.reload();
    const p = page.disconnect();
    const ws = first.server.last();
    expect(first.server.sockets).toHaveLength(2);
    expect(new URL(ws.url).searchParams.get("userId")).toBe("alice");
    ws.accept().state({ status: "connected", mode: "token", userId: "alice" });
    expect(ws.sent).toEqual([{ type: "disconnect", clearSavedData: false }]);
    ws.state({ status: "disconnecting", mode: "token", userId: "alice" });
    await p;
    expect(first.storage.items.has(SESSION_KEY)).toBe(false);
  });

  it("after a reload, sends nothing when the saved session already ended", async () => {
    const first = await connectedClient();
    const page = first.reload();
    const p = page.disconnect();
    const ws = first.server.last().accept();
    ws.state({ status: "disconnected", reason: "requested" });
    await p;
    expect(ws.sent).toEqual([]);
    expect(ws.closedByClient).toBe(1000);
  });

  it("after a reload with clearSavedData, asks the server to clear even an ended session", async () => {
    const first = await connectedClient();
    const page = first.reload();
    const p = page.disconnect({ clearSavedData: true });
    const ws = first.server.last().accept();
    ws.state({ status: "disconnected", reason: "requested" });
    expect(ws.sent).toEqual([{ type: "disconnect", clearSavedData: true }]);
    ws.receive({ type: "data_cleared" });
    await p;
  });

  it("delivers the disconnect over a reopened socket when the socket is down", async () => {
    const { kaleyra, server, timers } = await connectedClient({ random: () => 1 });
    server.last().drop();
    expect(timers.pending()).toEqual([500]);
    const p = kaleyra.disconnect();
    // It does not wait for the backoff.
    expect(server.sockets).toHaveLength(2);
    const ws = server.last().accept();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(ws.sent).toEqual([{ type: "disconnect", clearSavedData: false }]);
    ws.state({ status: "disconnecting", mode: "token", userId: "alice" });
    await p;
    expect(timers.pending()).toEqual([]);
  });

  it("rejects with disconnect_unconfirmed when the server cannot be reached in time, keeping the saved session", async () => {
    const { kaleyra, server, timers, storage } = await connectedClient({ random: () => 0 });
    server.last().drop();
    const p = kaleyra.disconnect();
    p.catch(() => {});
    for (let i = 0; i < 5; i++) {
      server.last().drop();
      timers.advance(1_000);
    }
    timers.advance(DISCONNECT_WAIT_MS);
    const err = await p.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "disconnect_unconfirmed" });
    expect(storage.json(SESSION_KEY)).toEqual({ appId: APP.appId, userId: "alice" });
    const opened = server.sockets.length;
    timers.advance(120_000);
    expect(server.sockets).toHaveLength(opened);
  });

  it("a second disconnect while the first waits adds clearSavedData", async () => {
    const { kaleyra, ws } = await connectedClient();
    const first = kaleyra.disconnect();
    const second = kaleyra.disconnect({ clearSavedData: true });
    expect(ws.sentOfType("disconnect")).toEqual([
      { type: "disconnect", clearSavedData: false },
      { type: "disconnect", clearSavedData: true },
    ]);
    ws.state({ status: "disconnecting", mode: "token", userId: "alice" });
    await Promise.all([first, second]);
  });
});

describe("data_cleared", () => {
  it("from another client's disconnect(clearSavedData) deletes the saved session here", async () => {
    const { kaleyra, ws, storage } = await connectedClient();
    ws.receive({ type: "data_cleared" });
    expect(storage.items.has(SESSION_KEY)).toBe(false);
    expect(storage.json(CONFIG_KEY)).toEqual(APP);
    ws.state({ status: "disconnected", reason: "requested" });
    expect(kaleyra.connectedUser).toBeUndefined();
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", failure: { code: "disconnected" } });
  });
});

describe("reset", () => {
  it("disconnects and drops the configuration", async () => {
    const { kaleyra, ws, storage, server } = await connectedClient();
    const p = kaleyra.reset();
    expect(ws.sent.at(-1)).toEqual({ type: "disconnect", clearSavedData: false });
    ws.state({ status: "disconnected", reason: "requested" });
    await p;
    expect(kaleyra.isConfigured).toBe(false);
    expect(storage.items.size).toBe(0);
    await expect(kaleyra.connect("alice", token)).rejects.toMatchObject({ code: "not_configured" });
    expect(server.sockets).toHaveLength(1);
  });

  it("drops the configuration even when the disconnect is unconfirmed", async () => {
    const { kaleyra, server, timers, network } = await connectedClient();
    network.goOffline();
    server.last().drop();
    const p = kaleyra.reset();
    timers.advance(DISCONNECT_WAIT_MS);
    await expect(p).rejects.toMatchObject({ code: "disconnect_unconfirmed" });
    expect(kaleyra.isConfigured).toBe(false);
  });
});

describe("start: the initializer hooks", () => {
  it("asks onRequestConfigure when not configured, then stops when nothing was saved", async () => {
    const onRequestConfigure = vi.fn(() => APP);
    const onRequestConnect = vi.fn();
    const { kaleyra } = fakeClient({ configured: false, onRequestConfigure, onRequestConnect });
    await kaleyra.start();
    expect(onRequestConfigure).toHaveBeenCalledTimes(1);
    expect(kaleyra.isConfigured).toBe(true);
    expect(onRequestConnect).not.toHaveBeenCalled();
  });

  it("does not ask onRequestConfigure when a configuration was saved", async () => {
    const onRequestConfigure = vi.fn(() => APP);
    const { reload } = fakeClient();
    await reload({ onRequestConfigure }).start();
    expect(onRequestConfigure).not.toHaveBeenCalled();
  });

  it("stays unconfigured, and asks nothing more, when onRequestConfigure gives nothing valid", async () => {
    const onRequestConnect = vi.fn();
    const storage = new MemoryStorage();
    storage.setItem(SESSION_KEY, JSON.stringify({ appId: APP.appId, userId: "alice" }));
    for (const answer of [undefined, { ...APP, appId: "bad" }]) {
      const kaleyra = new KaleyraVideo({ server: "http://x", WebSocket: fakeSockets().WebSocket, storage, onRequestConfigure: () => answer as never, onRequestConnect });
      await kaleyra.start();
      expect(kaleyra.isConfigured).toBe(false);
    }
    expect(onRequestConnect).not.toHaveBeenCalled();
  });

  it("asks onRequestConnect with the saved user after a reload, and the app connects again", async () => {
    const first = await connectedClient();
    const provider = vi.fn(async () => "tok2");
    let page!: KaleyraVideo;
    const onRequestConnect = vi.fn(async ({ userId }: { userId: string }) => {
      const p = page.connect(userId, provider);
      const ws = first.server.last().accept();
      ws.state({ status: "connected", mode: "token", userId });
      await p;
    });
    page = first.reload({ onRequestConnect });
    await page.start();
    expect(onRequestConnect).toHaveBeenCalledWith({ appId: APP.appId, userId: "alice" });
    expect(page.connectedUser).toEqual({ userId: "alice" });
    expect(first.server.last().sent).toEqual([{ type: "connect", userId: "alice" }]);
  });

  it("does not ask onRequestConnect when the saved session is of another app, or was disconnected", async () => {
    const onRequestConnect = vi.fn();
    const first = await connectedClient();
    const other = first.reload({ onRequestConnect });
    other.configure({ ...APP, appId: "mAppId_other" });
    await other.start();
    expect(onRequestConnect).not.toHaveBeenCalled();

    const p = first.kaleyra.disconnect();
    first.ws.state({ status: "disconnecting" });
    await p;
    await first.reload({ onRequestConnect }).start();
    expect(onRequestConnect).not.toHaveBeenCalled();
  });
});
