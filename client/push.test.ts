/**
 * Web Push for a page, over the fake sockets and a fake push manager: the subscription goes to the
 * session after the proof and again after every new attach; answers settle subscribe() once.
 */
import { describe, expect, it, vi } from "vitest";
import { CONFIRM_WAIT_MS, onWake, push, pushKey, WAKE_FLAG, wokenByPush, type BrowserSubscription, type RegistrationLike } from "./push";
import { WAKE_FLAG as SW_WAKE_FLAG } from "./push-sw";
import { relay } from "./relay";
import { connectWithToken, fakeClient, PROOF, settle } from "./testing";

// RFC 8291 Appendix A's application server public key: a real P-256 point.
const VAPID_KEY = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const KEYS = { p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "BTBZMqHH6r4Tts7J_aSIgg" };
const ENDPOINT = "https://push.example.com/send/abc";
const JSON_SUB = { endpoint: ENDPOINT, expirationTime: null, keys: KEYS };
const keyBytes = (k: string) => Uint8Array.from(atob(k.replace(/-/g, "+").replace(/_/g, "/") + "="), (c) => c.charCodeAt(0));

/** A push manager as a browser has it: one subscription at most, bound to the key it was made with. */
function fakeRegistration(existing?: { endpoint: string; key: string }) {
  let current: (BrowserSubscription & { key: Uint8Array }) | null = null;
  const make = (endpoint: string, key: Uint8Array) => {
    const sub = {
      endpoint,
      key,
      options: { applicationServerKey: key.buffer as ArrayBuffer },
      toJSON: () => ({ endpoint, expirationTime: null, keys: KEYS }),
      unsubscribe: vi.fn(async () => ((current = null), true)),
    };
    return sub;
  };
  if (existing) current = make(existing.endpoint, keyBytes(existing.key));
  const pushManager = {
    getSubscription: vi.fn(async () => current),
    subscribe: vi.fn(async ({ applicationServerKey }: { applicationServerKey: Uint8Array }) => (current = make(ENDPOINT, applicationServerKey))),
  };
  return { registration: { pushManager } as RegistrationLike, pushManager, current: () => current };
}

/** A client connected and attached (proof, state, resume), with push attached. */
async function attached(registration = fakeRegistration()) {
  const client = fakeClient();
  const webPush = push(client.kaleyra, { vapidPublicKey: VAPID_KEY, registration: registration.registration, timers: client.timers });
  const ws = await connectWithToken(client);
  return { ...client, ...registration, webPush, ws };
}

const outcome = (p: Promise<unknown>) => p.then((value) => ({ value }), (error: { code?: string; field?: string }) => ({ code: error.code, field: error.field }));

describe("push: subscribe", () => {
  it("subscribes with the app's key (userVisibleOnly), gives the session the subscription, resolves on push_subscribed", async () => {
    const { webPush, ws, pushManager } = await attached();
    const result = outcome(webPush.subscribe());
    await settle();
    expect(pushManager.subscribe).toHaveBeenCalledWith({ userVisibleOnly: true, applicationServerKey: keyBytes(VAPID_KEY) });
    expect(ws.sent.filter((f) => (f.type as string) === "push_subscribe")).toEqual([{ type: "push_subscribe", subscription: JSON_SUB, applicationServerKey: VAPID_KEY }]);
    ws.receive({ type: "push_subscribed", endpoint: ENDPOINT });
    expect(await result).toEqual({ value: JSON_SUB });
    expect(webPush.subscription).toEqual(JSON_SUB);
  });

  it("sends it again after every new attach (a reopened socket, a restarted session), never before the attach state", async () => {
    const { webPush, ws, server, timers } = await attached();
    const result = webPush.subscribe();
    await settle();
    ws.receive({ type: "push_subscribed", endpoint: ENDPOINT });
    await result;
    ws.drop();
    timers.advance(30_000);
    const next = server.last().accept();
    next.receive(PROOF);
    await settle();
    expect(next.sent.map((f) => f.type)).toEqual(["auth"]);
    next.state({ status: "connected", mode: "token", userId: "alice" });
    expect(next.sent.map((f) => f.type)).toEqual(["auth", "connect", "push_subscribe"]);
    // Later state frames on the same socket send nothing more.
    next.state({ status: "connected", mode: "token", userId: "alice", refreshing: true });
    expect(next.sent.filter((f) => (f.type as string) === "push_subscribe")).toHaveLength(1);
  });

  it("sent before the proof and answered push_unproven, it goes again at the attach state", async () => {
    const reg = fakeRegistration();
    const client = fakeClient();
    const webPush = push(client.kaleyra, { vapidPublicKey: VAPID_KEY, registration: reg.registration, timers: client.timers });
    void client.kaleyra.connect("alice", async () => "tok");
    const ws = client.server.last().accept();
    const result = outcome(webPush.subscribe());
    await settle();
    expect(ws.sent.map((f) => f.type)).toEqual(["push_subscribe"]);
    ws.receive({ type: "push_refused", endpoint: ENDPOINT, code: "push_unproven", message: "…" });
    ws.receive(PROOF);
    await settle();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(ws.sent.filter((f) => (f.type as string) === "push_subscribe")).toHaveLength(2);
    ws.receive({ type: "push_subscribed", endpoint: ENDPOINT });
    expect(await result).toEqual({ value: JSON_SUB });
    expect(client.kaleyra.state.value.failure).toBeUndefined();
  });

  it("rejects with the session's code on push_refused, and stops sending it", async () => {
    const { webPush, ws, server, timers } = await attached();
    const result = outcome(webPush.subscribe());
    await settle();
    ws.receive({ type: "push_refused", endpoint: ENDPOINT, code: "push_disabled", message: "off" });
    expect(await result).toEqual({ code: "push_disabled", field: undefined });
    expect(webPush.subscription).toBeUndefined();
    ws.drop();
    timers.advance(30_000);
    const next = server.last().accept();
    next.receive(PROOF);
    await settle();
    next.state({ status: "connected", mode: "token", userId: "alice" });
    expect(next.sent.map((f) => f.type)).toEqual(["auth", "connect"]);
  });

  it("rejects with push_unconfirmed after CONFIRM_WAIT_MS without an answer", async () => {
    const { webPush, timers } = await attached();
    const result = outcome(webPush.subscribe());
    await settle();
    timers.advance(CONFIRM_WAIT_MS);
    expect(await result).toMatchObject({ code: "push_unconfirmed" });
    expect(webPush.subscription).toEqual(JSON_SUB);
  });

  it("reuses the browser's subscription for the same key; replaces one made with another key", async () => {
    const same = await attached(fakeRegistration({ endpoint: "https://push.example.com/old", key: VAPID_KEY }));
    void same.webPush.subscribe();
    await settle();
    expect(same.pushManager.subscribe).not.toHaveBeenCalled();
    const other = fakeRegistration({ endpoint: "https://push.example.com/old", key: KEYS.p256dh });
    const oldSub = other.current()!;
    const replaced = await attached(other);
    void replaced.webPush.subscribe();
    await settle();
    expect(oldSub.unsubscribe).toHaveBeenCalled();
    expect(replaced.pushManager.subscribe).toHaveBeenCalledTimes(1);
  });

  it("refuses a key that is not a base64url P-256 point, before asking the browser", async () => {
    const reg = fakeRegistration();
    const webPush = push(fakeClient().kaleyra, { vapidPublicKey: "not-a-key", registration: reg.registration });
    expect(await outcome(webPush.subscribe())).toEqual({ code: "bad_request", field: "vapidPublicKey" });
    expect(reg.pushManager.getSubscription).not.toHaveBeenCalled();
  });
});

describe("push: unsubscribe, the frame hook, the wake flag", () => {
  it("tells the session the endpoint and unsubscribes the browser", async () => {
    const { webPush, ws, current } = await attached();
    const pending = outcome(webPush.subscribe());
    await settle();
    const browserSub = current()!;
    await webPush.unsubscribe();
    expect(ws.sent.at(-1)).toEqual({ type: "push_unsubscribe", endpoint: ENDPOINT });
    expect(browserSub.unsubscribe).toHaveBeenCalled();
    expect(webPush.subscription).toBeUndefined();
    expect(await pending).toMatchObject({ code: "push_unconfirmed" });
  });

  it("listens beside a relay on the client's frames, in either order; detach removes only its own listener", async () => {
    const client = fakeClient();
    const webPush = push(client.kaleyra, { vapidPublicKey: VAPID_KEY, registration: fakeRegistration().registration, timers: client.timers });
    const remote = relay(client.kaleyra, { storage: client.storage, timers: client.timers });
    const relayHook = client.kaleyra.relay;
    expect(client.kaleyra.frames.size).toBe(2);
    const heard = vi.fn();
    remote.on("call:incoming", heard);
    void client.kaleyra.connect("alice", async () => "tok");
    const ws = client.server.last().accept();
    ws.receive(PROOF);
    await settle();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    ws.receive({ type: "remote_event", seq: 1, name: "call:incoming", data: { callId: "c1" } });
    expect(heard).toHaveBeenCalledWith({ callId: "c1" }, { name: "call:incoming", seq: 1, data: { callId: "c1" } });
    expect(client.kaleyra.relay?.since).toBe(1);
    webPush.detach();
    expect(client.kaleyra.relay).toBe(relayHook);
    expect(client.kaleyra.frames.size).toBe(1);
  });

  it("clearSavedData (data_cleared) forgets the subscription and unsubscribes the browser: the session dropped it", async () => {
    const { webPush, ws, current } = await attached();
    const result = webPush.subscribe();
    await settle();
    ws.receive({ type: "push_subscribed", endpoint: ENDPOINT });
    await result;
    const browserSub = current()!;
    ws.receive({ type: "data_cleared" });
    await settle();
    expect(webPush.subscription).toBeUndefined();
    expect(browserSub.unsubscribe).toHaveBeenCalled();
  });

  it("a rotated key is push_key_changed: subscribe() rejects with it, and pushKey() reads the new key", async () => {
    const { webPush, ws } = await attached();
    const result = outcome(webPush.subscribe());
    await settle();
    ws.receive({ type: "push_refused", endpoint: ENDPOINT, code: "push_key_changed", message: "m", field: "applicationServerKey" });
    expect(await result).toEqual({ code: "push_key_changed", field: "applicationServerKey" });
    const fetcher = vi.fn(async () => Response.json({ vapidPublicKey: VAPID_KEY, webPush: true }));
    expect(await pushKey("wss://edge.example.com/", "mAppId_x", fetcher as unknown as typeof fetch)).toEqual({ vapidPublicKey: VAPID_KEY, webPush: true });
    expect(fetcher).toHaveBeenCalledWith("https://edge.example.com/v1/apps/mAppId_x/push");
  });

  it("a page opened by a wake reads the flag the service worker put in its URL", () => {
    expect(WAKE_FLAG).toBe(SW_WAKE_FLAG);
    expect(wokenByPush("https://app.example.com/app/?kaleyraWake=kaleyra_event")).toBe("kaleyra_event");
    expect(wokenByPush("https://app.example.com/app/")).toBeUndefined();
    expect(wokenByPush("not a url")).toBeUndefined();
  });

  it("an open page hears the wakes its service worker posts, and nothing else", () => {
    const listeners = new Set<(e: { data?: unknown }) => void>();
    const source = { addEventListener: (_: "message", l: (e: { data?: unknown }) => void) => listeners.add(l), removeEventListener: (_: "message", l: (e: { data?: unknown }) => void) => listeners.delete(l) };
    const heard = vi.fn();
    const stop = onWake(heard, source);
    const wake = { type: "kaleyra_wake", appId: "mAppId_demo", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming" } };
    for (const l of listeners) l({ data: wake }), l({ data: { type: "other" } }), l({});
    expect(heard.mock.calls).toEqual([[wake]]);
    stop();
    expect(listeners.size).toBe(0);
  });
});
