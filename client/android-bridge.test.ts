import { describe, expect, it, vi } from "vitest";
import { ACCESS_TOKEN_TIMEOUT_MS, installAndroidBridge, type AndroidBridgeMessage, type AndroidNativeInterface } from "./android-bridge";
import { relay } from "./relay";
import { APP, fakeClient, FakeTimers, LINK, settle } from "./testing";

/** The app's side: records what the page posts, like a @JavascriptInterface postMessage(json). */
function fakeApp(configuration?: string) {
  const messages: AndroidBridgeMessage[] = [];
  const native: AndroidNativeInterface = { postMessage: (json) => void messages.push(JSON.parse(json) as AndroidBridgeMessage) };
  if (configuration !== undefined) native.configuration = () => configuration;
  return { native, messages };
}

type Window = { KaleyraAndroid?: AndroidNativeInterface; kaleyraBridge?: { onAccessTokenResponse(r: unknown): boolean; onAccessLink(l: string): void } };

function setup(options: { configuration?: string; onAccessLink?: (link: string) => unknown } = {}) {
  const app = fakeApp(options.configuration);
  const window: Window = { KaleyraAndroid: app.native };
  const timers = new FakeTimers();
  const bridge = installAndroidBridge({ host: window, timers, random: () => 0.5, ...(options.onAccessLink ? { onAccessLink: options.onAccessLink } : {}) });
  return { app, window, timers, bridge };
}

const outcome = (p: Promise<string>) => p.then((token) => ({ token }), (error: unknown) => ({ error }));

describe("android bridge: tokens", () => {
  it("posts accessTokenRequest to the app and resolves with the app's answer through window.kaleyraBridge", async () => {
    const { app, window, bridge } = setup();
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" })));
    await settle();
    expect(app.messages).toEqual([{ event: "accessTokenRequest", data: { requestID: expect.any(String), userID: "alice" } }]);
    const { requestID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    expect(window.kaleyraBridge!.onAccessTokenResponse({ requestID, success: true, data: "jwt-1", error: null })).toBe(true);
    expect(await token).toEqual({ token: "jwt-1" });
  });

  it("passes expiresAt on a refresh, and gives every request its own id", async () => {
    const { app, bridge } = setup();
    void bridge.tokenProvider({ userId: "alice", expiresAt: 99 });
    void bridge.tokenProvider({ userId: "alice" });
    const [a, b] = app.messages.map((m) => (m as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data);
    expect(a).toMatchObject({ userID: "alice", expiresAt: 99 });
    expect(a!.requestID).not.toBe(b!.requestID);
  });

  it("accepts the answer as a JSON string too", async () => {
    const { app, window, bridge } = setup();
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" })));
    const { requestID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    expect(window.kaleyraBridge!.onAccessTokenResponse(JSON.stringify({ requestID, success: true, data: "jwt-2" }))).toBe(true);
    expect(await token).toEqual({ token: "jwt-2" });
  });

  it("rejects with token_refused, carrying the app's reason, when the app answers failure", async () => {
    const { app, window, bridge } = setup();
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" })));
    const { requestID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    window.kaleyraBridge!.onAccessTokenResponse({ requestID, success: false, data: "", error: "backend down" });
    expect(await token).toEqual({ error: expect.objectContaining({ code: "token_refused", message: expect.stringContaining("backend down") }) });
  });

  it("rejects a success without a token as token_refused", async () => {
    const { app, bridge } = setup();
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" })));
    const { requestID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    bridge.onAccessTokenResponse({ requestID, success: true, data: "" });
    expect(await token).toEqual({ error: expect.objectContaining({ code: "token_refused" }) });
  });

  it("rejects with token_timeout after 15 s without an answer, and ignores a late answer", async () => {
    const { app, timers, bridge } = setup();
    expect(ACCESS_TOKEN_TIMEOUT_MS).toBe(15_000);
    let settled = false;
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" }))).then((r) => ((settled = true), r));
    timers.advance(14_999);
    await settle();
    expect(settled).toBe(false);
    timers.advance(1);
    expect(await token).toEqual({ error: expect.objectContaining({ code: "token_timeout" }) });
    const { requestID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    expect(bridge.onAccessTokenResponse({ requestID, success: true, data: "late" })).toBe(false);
  });

  it("ignores unknown, repeated and malformed answers", async () => {
    const { app, bridge, timers } = setup();
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" })));
    const { requestID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    expect(bridge.onAccessTokenResponse({ requestID: "other", success: true, data: "x" })).toBe(false);
    expect(bridge.onAccessTokenResponse("{not json")).toBe(false);
    expect(bridge.onAccessTokenResponse(null as never)).toBe(false);
    expect(bridge.onAccessTokenResponse({ requestID, success: true, data: "jwt" })).toBe(true);
    expect(bridge.onAccessTokenResponse({ requestID, success: true, data: "again" })).toBe(false);
    expect(await token).toEqual({ token: "jwt" });
    expect(timers.pending()).toEqual([]);
  });

  it("refuses to install without the app's interface", () => {
    expect(() => installAndroidBridge({ host: {} })).toThrow(/KaleyraAndroid/);
  });

  it("dispose removes window.kaleyraBridge and fails waiting requests", async () => {
    const { window, bridge } = setup();
    const token = outcome(Promise.resolve(bridge.tokenProvider({ userId: "alice" })));
    bridge.dispose();
    expect(window.kaleyraBridge).toBeUndefined();
    expect(await token).toEqual({ error: expect.objectContaining({ code: "token_refused" }) });
  });
});

describe("android bridge: with the client", () => {
  it("round trip: the session's token_request reaches the app, and the app's token goes back as a token frame", async () => {
    const { app, window, bridge } = setup();
    const { kaleyra, server } = fakeClient();
    const connected = kaleyra.connect("alice", bridge.tokenProvider);
    const ws = server.last().accept();
    ws.state({ status: "connecting", mode: "token", userId: "alice" });
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(app.messages).toHaveLength(1);
    const { requestID, userID } = (app.messages[0] as Extract<AndroidBridgeMessage, { event: "accessTokenRequest" }>).data;
    expect(userID).toBe("alice");
    window.kaleyraBridge!.onAccessTokenResponse({ requestID, success: true, data: "jwt-alice" });
    await settle();
    expect(ws.sentOfType("token")).toEqual([{ type: "token", requestId: "n.1", token: "jwt-alice" }]);
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await connected).toEqual({ userId: "alice" });
  });

  it("a timed-out app request becomes token_failed for the session", async () => {
    const { timers, bridge } = setup();
    const { kaleyra, server } = fakeClient();
    void kaleyra.connect("alice", bridge.tokenProvider).catch(() => {});
    const ws = server.last().accept();
    ws.state({ status: "connecting", mode: "token", userId: "alice" });
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    timers.advance(ACCESS_TOKEN_TIMEOUT_MS);
    await settle();
    expect(ws.sent.slice(1)).toEqual([{ type: "token_failed", requestId: "n.1" }]);
  });

  it("configuration() reads the app's configuration for onRequestConfigure", async () => {
    const { bridge } = setup({ configuration: JSON.stringify(APP) });
    const { kaleyra } = fakeClient({ configured: false, onRequestConfigure: () => bridge.configuration() });
    await kaleyra.start();
    expect(kaleyra.isConfigured).toBe(true);
    expect(setup({ configuration: "" }).bridge.configuration()).toBeUndefined();
    expect(setup({ configuration: "{oops" }).bridge.configuration()).toBeUndefined();
    expect(setup().bridge.configuration()).toBeUndefined();
  });

  it("onAccessLink hands the app's link to the page and reports the result to the app", async () => {
    const { kaleyra, server } = fakeClient();
    const onAccessLink = vi.fn((link: string) => kaleyra.connect(link));
    const { app, window } = setup({ onAccessLink });
    window.kaleyraBridge!.onAccessLink(LINK);
    await settle();
    expect(onAccessLink).toHaveBeenCalledWith(LINK);
    server.last().accept().state({ status: "connected", mode: "access_link", userId: "guest-abc123" });
    await settle();
    expect(app.messages).toEqual([{ event: "accessLinkResult", data: { success: true } }]);

    window.kaleyraBridge!.onAccessLink(`${LINK}x`);
    await settle();
    expect(app.messages[1]).toEqual({ event: "accessLinkResult", data: { success: false, error: { code: "session_conflict", message: expect.any(String) } } });
  });

  it("onAccessLink without a handler reports a failure to the app", async () => {
    const { app, window } = setup();
    window.kaleyraBridge!.onAccessLink(LINK);
    await settle();
    expect(app.messages).toEqual([{ event: "accessLinkResult", data: { success: false, error: { code: "bad_request", message: expect.stringContaining("onAccessLink") } } }]);
  });
});

describe("android bridge: relay", () => {
  /** A connected session with a relay, and a bridge forwarding it to a fake app. */
  async function relayed(onGap?: (after: number) => void) {
    const { kaleyra, server, storage, timers } = fakeClient();
    const remote = relay(kaleyra, { storage, timers, onGap });
    const app = fakeApp();
    const window: Window & { kaleyraBridge?: { remoteEmit(r: unknown): boolean } } = { KaleyraAndroid: app.native };
    const bridge = installAndroidBridge({ host: window, timers, relay: remote });
    void kaleyra.connect("alice", async () => "tok");
    const ws = server.last().accept();
    ws.receive({ type: "auth_required", modes: ["token"] });
    await settle();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    return { app, window, bridge, remote, ws };
  }

  it("posts each relayed event to the app as remoteEvent, in order, and a gap as remoteGap (the page's onGap still hears it)", async () => {
    const onGap = vi.fn();
    const { app, ws } = await relayed(onGap);
    ws.receive({ type: "remote_event", seq: 1, name: "user:status_changed", data: { userId: "bob", status: "busy" } });
    ws.receive({ type: "remote_event", seq: 2, name: "call:incoming" });
    ws.receive({ type: "remote_gap", after: 2 });
    expect(app.messages).toEqual([
      { event: "remoteEvent", data: { name: "user:status_changed", seq: 1, data: { userId: "bob", status: "busy" } } },
      { event: "remoteEvent", data: { name: "call:incoming", seq: 2, data: null } },
      { event: "remoteGap", data: { after: 2 } },
    ]);
    expect(onGap).toHaveBeenCalledWith(2);
  });

  it("the app's remoteEmit goes up as remote_emit; the ack comes back as remoteAck with its requestID", async () => {
    const { app, window, ws } = await relayed();
    expect(window.kaleyraBridge!.remoteEmit(JSON.stringify({ requestID: "r1", name: "user:status:set", data: { status: "busy" } }))).toBe(true);
    const sent = ws.sent.at(-1) as unknown as { id: string };
    expect(sent).toMatchObject({ type: "remote_emit", name: "user:status:set", data: { status: "busy" } });
    ws.receive({ type: "remote_ack", id: sent.id, data: { status: 200 } });
    await settle();
    expect(app.messages.at(-1)).toEqual({ event: "remoteAck", data: { requestID: "r1", success: true, data: { status: 200 } } });
  });

  it("a refused emit comes back as a failed remoteAck with the error code; a request without requestID gets nothing", async () => {
    const { app, window, bridge, ws } = await relayed();
    window.kaleyraBridge!.remoteEmit({ requestID: "r2", name: "user:force_disconnect" });
    ws.receive({ type: "remote_ack", id: (ws.sent.at(-1) as unknown as { id: string }).id, error: { code: "reserved_event", message: "reserved" } });
    window.kaleyraBridge!.remoteEmit({ requestID: "r3", name: "" });
    expect(bridge.remoteEmit(JSON.stringify({ name: "x" }))).toBe(false);
    await settle();
    expect(app.messages).toEqual([
      { event: "remoteAck", data: { requestID: "r2", success: false, error: { code: "reserved_event", message: "reserved" } } },
      { event: "remoteAck", data: { requestID: "r3", success: false, error: { code: "invalid_frame", message: expect.any(String) } } },
    ]);
  });

  it("without a relay, remoteEmit answers false; dispose stops forwarding", async () => {
    const { bridge } = setup();
    expect(bridge.remoteEmit({ requestID: "r", name: "x" })).toBe(false);
    const { app, bridge: withRelay, remote, ws } = await relayed();
    withRelay.dispose();
    ws.receive({ type: "remote_event", seq: 1, name: "x" });
    expect(app.messages).toEqual([]);
    expect(remote.onGap).toBeUndefined();
  });
});
