/**
 * The client against the real Worker and session object (with the fake remote): the wire
 * contract of docs/protocol.md from the client's side. Sockets are opened through SELF.fetch, as
 * a browser would open them, and fail like a browser's when the upgrade is answered with HTTP.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { userSession } from "../durable-objects/stubs";
import type { UserSession } from "../durable-objects/UserSession";
import { fakeRemoteControls, fakeToken } from "../test/fake-remote";
import { KaleyraVideo } from "./kaleyra-video";
import { ANY, relay } from "./relay";
import type { WebSocketLike } from "./platform";
import { MemoryStorage } from "./testing";

const APP_ID = "mAppId_client";
const CONFIG = { appId: APP_ID, environment: "sandbox", region: "eu" } as const;
const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/client42";

type Listener = (event: object) => void;

/** A browser-like WebSocket over SELF.fetch: an HTTP answer to the upgrade is a 1006 close. */
class WorkerSocket implements WebSocketLike {
  readyState = 0;
  private socket?: WebSocket;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(url: string) {
    void SELF.fetch(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }).then((res) => {
      const socket = res.webSocket;
      if (!socket || this.readyState === 3) {
        this.readyState = 3;
        return this.emit("close", { code: 1006, reason: "" });
      }
      this.socket = socket;
      socket.accept();
      socket.addEventListener("message", (e) => this.emit("message", { data: e.data }));
      socket.addEventListener("close", (e) => {
        this.readyState = 3;
        this.emit("close", { code: e.code, reason: e.reason });
      });
      this.readyState = 1;
      this.emit("open", {});
    });
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    this.socket!.send(data);
  }

  close(code?: number): void {
    this.readyState = 3;
    this.socket?.close(code);
  }

  private emit(type: string, event: object): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

function client(storage = new MemoryStorage()) {
  const kaleyra = new KaleyraVideo({ server: "http://edge.test", WebSocket: WorkerSocket, storage, random: () => 0 });
  expect(kaleyra.configure(CONFIG)).toBe(true);
  return kaleyra;
}

const tokenFor = vi.fn(async ({ userId }: { userId: string }) => fakeToken(userId, Date.now() + 24 * 3_600_000));

beforeAll(async () => {
  const res = await SELF.fetch(`https://edge.test/v1/apps/${APP_ID}`, {
    method: "PUT",
    headers: { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify({ environment: "sandbox", region: "eu" }),
  });
  expect(res.ok).toBe(true);
});

describe("client against the Worker", () => {
  it("connects a token session through the provider, then disconnects it", async () => {
    const kaleyra = client();
    const user = await kaleyra.connect("client-alice", tokenFor);
    expect(user).toEqual({ userId: "client-alice" });
    expect(tokenFor).toHaveBeenCalledWith({ userId: "client-alice" });
    expect(kaleyra.state.value).toMatchObject({ status: "connected", mode: "token", userId: "client-alice", transport: "open" });
    await kaleyra.disconnect();
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", transport: "idle" });
    expect(kaleyra.connectedUser).toBeUndefined();
  });

  it("a second tab (same storage) joins the running session with the resume credential, without a new token", async () => {
    const storage = new MemoryStorage();
    const first = client(storage);
    await first.connect("client-bob", tokenFor);
    const calls = tokenFor.mock.calls.length;
    const second = client(storage);
    expect(await second.connect("client-bob", tokenFor)).toEqual({ userId: "client-bob" });
    expect(tokenFor.mock.calls.length).toBe(calls);
    await second.disconnect({ clearSavedData: true });
    // The first client hears the end: the session it knew ended.
    await vi.waitFor(() => expect(first.connectedUser).toBeUndefined());
    expect(first.state.value).toMatchObject({ status: "disconnected", failure: { code: "disconnected" } });
  });

  it("another device (no resume credential) proves the user with one token of its own", async () => {
    const first = client();
    await first.connect("client-erin", tokenFor);
    const calls = tokenFor.mock.calls.length;
    const other = client();
    expect(await other.connect("client-erin", tokenFor)).toEqual({ userId: "client-erin" });
    expect(tokenFor.mock.calls.length).toBe(calls + 1);
    await other.disconnect({ clearSavedData: true });
  });

  it("leaves connect pending while a failing provider makes the session retry; disconnect ends it and rejects connect", async () => {
    const kaleyra = client();
    const failing = vi.fn(async () => {
      throw new Error("no token");
    });
    const connecting = kaleyra.connect("client-carol", failing);
    connecting.catch(() => {});
    await vi.waitFor(() => expect(failing).toHaveBeenCalled());
    await kaleyra.disconnect();
    await expect(connecting).rejects.toMatchObject({ code: "disconnected" });
  });

  it("connects by access link and refuses a token connect meanwhile, locally", async () => {
    const kaleyra = client();
    expect(await kaleyra.connect(LINK)).toEqual({ userId: "guest-client42" });
    await expect(kaleyra.connect("client-dave", tokenFor)).rejects.toMatchObject({ code: "session_conflict" });
    await kaleyra.disconnect({ clearSavedData: true });
  });

  it("rejects an invalid access link with invalid_access_link", async () => {
    const kaleyra = client();
    await expect(kaleyra.connect("https://sandbox.bandyer.com/eu/not-a-call")).rejects.toMatchObject({ code: "invalid_access_link" });
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", transport: "idle" });
  });
});

/** Kaleyra sends an event on the user's connection (the fake remote's, inside the session object). */
async function kaleyraSays(userId: string, name: string, data: unknown): Promise<void> {
  const stub = userSession(env, APP_ID, { kind: "token", userId });
  await runInDurableObject(stub, async (o: UserSession) => {
    const id = (await o.snapshot()).remoteSessionId;
    if (id === undefined) throw new Error("the session holds no Kaleyra connection");
    fakeRemoteControls.notify(id, { type: "remote_event", name, data });
  });
}

describe("the relay (client/relay.ts) against the Worker", () => {
  it("hears Kaleyra's events in order, gets its emit acked or refused, and a later page with the saved seq gets what it missed", async () => {
    const storage = new MemoryStorage();
    const first = client(storage);
    const remote = relay(first, { storage });
    const heard: unknown[] = [];
    remote.on(ANY, (data, e) => heard.push([e.seq, e.name, data]));
    await first.connect("relay-amy", tokenFor);
    await kaleyraSays("relay-amy", "user:status_changed", { userId: "bob", status: "busy" });
    await vi.waitFor(() => expect(heard).toEqual([[1, "user:status_changed", { userId: "bob", status: "busy" }]]));
    expect(JSON.parse(storage.getItem("kaleyra.session") ?? "{}")).toMatchObject({ userId: "relay-amy", seq: 1 });

    await expect(remote.emit("user:status:set", { status: "busy" })).resolves.toEqual({ echo: { status: "busy" } });
    expect(fakeRemoteControls.emitted.at(-1)).toMatchObject({ name: "user:status:set", data: { status: "busy" } });
    await expect(remote.emit("user:force_disconnect")).rejects.toMatchObject({ code: "reserved_event" });

    // Two more events; then a page on the same storage (a reload, or a new tab) sends since = 1.
    await kaleyraSays("relay-amy", "call:incoming", { callId: "c1", from: "bob" });
    await kaleyraSays("relay-amy", "call:incoming", { callId: "c2", from: "bob" });
    await vi.waitFor(() => expect(heard).toHaveLength(3));
    storage.setItem("kaleyra.session", JSON.stringify({ ...JSON.parse(storage.getItem("kaleyra.session")!), seq: 1 }));
    const page = client(storage);
    const later = relay(page, { storage });
    const got: unknown[] = [];
    later.on(ANY, (_data, e) => got.push([e.seq, e.name]));
    await page.connect("relay-amy", tokenFor);
    await vi.waitFor(() => expect(got).toEqual([[2, "call:incoming"], [3, "call:incoming"]]));
    await page.disconnect();
    fakeRemoteControls.reset();
  });
});
