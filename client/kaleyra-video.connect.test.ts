import { describe, expect, it, vi } from "vitest";
import { KaleyraError } from "./errors";
import { KaleyraVideo } from "./kaleyra-video";
import { accessLinkDigest } from "../core/access-link";
import { APP, fakeClient, fakeSockets, LINK, linkSocket, settle } from "./testing";

const token = vi.fn(async () => "tok");

async function rejection(p: Promise<unknown>): Promise<KaleyraError> {
  const err = await p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KaleyraError);
  return err as KaleyraError;
}

describe("connect: before anything reaches the server", () => {
  it("rejects with not_configured before configure, without opening a socket", async () => {
    const { kaleyra, server } = fakeClient({ configured: false });
    const err = await rejection(kaleyra.connect("alice", token));
    expect(err.code).toBe("not_configured");
    expect(err.message).toMatch(/configure\(\)/);
    expect(await rejection(kaleyra.connect(LINK)).then((e) => e.code)).toBe("not_configured");
    expect(server.sockets).toHaveLength(0);
  });

  it("rejects a bad userId, a missing provider or a bad access link with bad_request naming the field", async () => {
    const { kaleyra, server } = fakeClient();
    expect(await rejection(kaleyra.connect("al ice", token))).toMatchObject({ code: "bad_request", field: "userId" });
    expect(await rejection(kaleyra.connect("alice", "nope" as never))).toMatchObject({ code: "bad_request", field: "provider" });
    expect(await rejection(kaleyra.connect("not a link"))).toMatchObject({ code: "bad_request", field: "accessLink" });
    expect(await rejection(kaleyra.connect("ftp://sandbox.bandyer.com/x"))).toMatchObject({ code: "bad_request", field: "accessLink" });
    expect(server.sockets).toHaveLength(0);
  });

  it("opens the socket for the user with the configuration in the query (http -> ws)", () => {
    const { kaleyra, server } = fakeClient();
    void kaleyra.connect("alice@x.com", token);
    const url = new URL(server.last().url);
    expect(url.protocol).toBe("ws:");
    expect(url.host).toBe("localhost:8787");
    expect(url.pathname).toBe("/v1/apps/mAppId_demo/socket");
    expect([...url.searchParams]).toEqual([["environment", "sandbox"], ["region", "eu"], ["userId", "alice@x.com"]]);
  });

  it("opens an access-link socket named by the canonical link's digest, never the link, and uses wss for an https server", async () => {
    const server = fakeSockets();
    const kaleyra = new KaleyraVideo({ server: "https://edge.example.com/", WebSocket: server.WebSocket, storage: null });
    kaleyra.configure(APP);
    void kaleyra.connect(`${LINK}/?x=1&y=2#frag`);
    const ws = await linkSocket(server);
    const raw = ws.url;
    expect(raw.startsWith("wss://edge.example.com/v1/apps/mAppId_demo/socket?")).toBe(true);
    expect(new URL(raw).searchParams.get("link")).toBe(await accessLinkDigest(LINK));
    expect(raw).not.toContain("abc123");
    expect(new URL(raw).searchParams.has("accessLink")).toBe(false);
    expect(new URL(raw).searchParams.has("userId")).toBe(false);
    // The link itself goes in the first frame, the proof the server asked for.
    expect(ws.sent).toEqual([{ type: "connect", accessLink: `${LINK}/?x=1&y=2#frag` }]);
  });
});

describe("connect: the flow to connected", () => {
  it("sends connect after the attach state and resolves with the user once the state is connected", async () => {
    const { kaleyra, server } = fakeClient();
    let resolved = false;
    const p = kaleyra.connect("alice", token).then((u) => ((resolved = true), u));
    expect(kaleyra.state.value).toMatchObject({ status: "connecting", mode: "token", userId: "alice", transport: "opening" });
    const ws = server.last().accept();
    expect(ws.sent).toEqual([]);
    ws.state({ status: "disconnected", reason: "requested" });
    expect(ws.sent).toEqual([{ type: "connect", userId: "alice" }]);
    // A stale attach state does not show: the session is starting.
    expect(kaleyra.state.value.status).toBe("connecting");
    ws.state({ status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1 });
    expect(kaleyra.state.value).toMatchObject({ status: "connecting", tokenAttempt: 1, transport: "open" });
    await settle();
    expect(resolved).toBe(false);
    expect(kaleyra.connectedUser).toBeUndefined();
    ws.state({ status: "connected", mode: "token", userId: "alice", expiresAt: 5 });
    expect(await p).toEqual({ userId: "alice" });
    expect(kaleyra.connectedUser).toEqual({ userId: "alice" });
    expect(kaleyra.state.value).toMatchObject({ status: "connected", userId: "alice", expiresAt: 5, transport: "open" });
    expect(server.sockets).toHaveLength(1);
  });

  it("connects by access link and resolves with the link's user from the state", async () => {
    const { kaleyra, server, storage } = fakeClient();
    const p = kaleyra.connect(LINK);
    const ws = await linkSocket(server);
    expect(ws.sent).toEqual([{ type: "connect", accessLink: LINK }]);
    ws.state({ status: "disconnected" });
    expect(ws.sent).toHaveLength(1);
    ws.state({ status: "connecting", mode: "access_link" });
    ws.state({ status: "connected", mode: "access_link", userId: "guest-abc123" });
    expect(await p).toEqual({ userId: "guest-abc123" });
    // The link is a bearer credential: it is never saved.
    expect(storage.items.has("kaleyra.session")).toBe(false);
    expect(JSON.stringify([...storage.items])).not.toContain("direct-rest-call-handler");
  });

  it("joins a session another client already connected (attach state connected)", async () => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await p).toEqual({ userId: "alice" });
    expect(ws.sent).toEqual([{ type: "connect", userId: "alice" }]);
  });

  it("connect for the same user again shares the session: the same answer, no second socket", async () => {
    const { kaleyra, server } = fakeClient();
    const first = kaleyra.connect("alice", token);
    const second = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await first).toEqual({ userId: "alice" });
    expect(await second).toEqual({ userId: "alice" });
    expect(await kaleyra.connect("alice", token)).toEqual({ userId: "alice" });
    expect(server.sockets).toHaveLength(1);
    expect(ws.sentOfType("connect")).toHaveLength(1);
  });

  it("refuses the other kind of session (and another user) locally with session_conflict, without a second socket", async () => {
    const { kaleyra, server } = fakeClient();
    const pending = kaleyra.connect("alice", token);
    expect((await rejection(kaleyra.connect(LINK))).code).toBe("session_conflict");
    expect((await rejection(kaleyra.connect("bob", token))).code).toBe("session_conflict");
    const ws = server.last().accept();
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    await pending;
    const err = await rejection(kaleyra.connect(LINK));
    expect(err.code).toBe("session_conflict");
    expect(err.message).toMatch(/disconnect/);
    expect(server.sockets).toHaveLength(1);
    expect(kaleyra.connectedUser).toEqual({ userId: "alice" });

    const link = fakeClient();
    const linked = link.kaleyra.connect(LINK);
    expect((await rejection(link.kaleyra.connect("alice", token))).code).toBe("session_conflict");
    (await linkSocket(link.server)).state({ status: "connected", mode: "access_link", userId: "guest-abc123" });
    expect(link.server.sockets).toHaveLength(1);
    await linked;
    expect((await rejection(link.kaleyra.connect("alice", token))).code).toBe("session_conflict");
    expect(link.server.sockets).toHaveLength(1);
  });
});

describe("connect: tokens", () => {
  async function tokenSession(provider: (r: { userId: string; expiresAt?: number }) => unknown) {
    const c = fakeClient();
    const p = c.kaleyra.connect("alice", provider as never);
    p.catch(() => {});
    const ws = c.server.last().accept();
    ws.state({ status: "disconnected" });
    ws.state({ status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1 });
    return { ...c, ws, connected: p };
  }

  it("answers token_request with the provider's token, asking with { userId } (and expiresAt on refresh)", async () => {
    const provider = vi.fn(async ({ userId }: { userId: string }) => `tok-${userId}`);
    const { ws } = await tokenSession(provider);
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(provider).toHaveBeenCalledTimes(1);
    expect(provider).toHaveBeenCalledWith({ userId: "alice" });
    expect(ws.sentOfType("token")).toEqual([{ type: "token", requestId: "n.1", token: "tok-alice" }]);

    ws.receive({ type: "token_request", requestId: "n.2", userId: "alice", attempt: 1, expiresAt: 1234 });
    await settle();
    expect(provider).toHaveBeenLastCalledWith({ userId: "alice", expiresAt: 1234 });
    expect(ws.sentOfType("token")[1]).toEqual({ type: "token", requestId: "n.2", token: "tok-alice" });
  });

  it("sends token_failed when the provider rejects or throws", async () => {
    const { ws } = await tokenSession(vi.fn(async () => {
      throw new Error("backend down");
    }));
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(ws.sent.slice(1)).toEqual([{ type: "token_failed", requestId: "n.1" }]);

    const sync = await tokenSession(() => {
      throw new Error("sync throw");
    });
    sync.ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(sync.ws.sent.slice(1)).toEqual([{ type: "token_failed", requestId: "n.1" }]);
  });

  it.each([
    ["an empty string", ""],
    ["a non-string", 42],
    ["undefined", undefined],
    ["a token with whitespace", "a b"],
    ["a token over 8,192 characters", "x".repeat(8193)],
  ])("sends token_failed when the provider answers %s", async (_, answer) => {
    const { ws } = await tokenSession(async () => answer);
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(ws.sent.slice(1)).toEqual([{ type: "token_failed", requestId: "n.1" }]);
  });

  it("calls the provider once per request id: a repeat while pending is not asked twice, a repeat after answers again", async () => {
    let release!: (t: string) => void;
    const provider = vi.fn(() => new Promise<string>((r) => (release = r)));
    const { ws } = await tokenSession(provider);
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(provider).toHaveBeenCalledTimes(1);
    release("tok");
    await settle();
    expect(ws.sentOfType("token")).toEqual([{ type: "token", requestId: "n.1", token: "tok" }]);
    // The answer was lost (say, on a socket that closed): the same request gets the same answer.
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(provider).toHaveBeenCalledTimes(1);
    expect(ws.sentOfType("token")).toHaveLength(2);
    // A new request id is a new question.
    ws.receive({ type: "token_request", requestId: "n.2", userId: "alice", attempt: 2 });
    await settle();
    expect(provider).toHaveBeenCalledTimes(2);
  });

  it("uses the provider of a later connect() for the same user", async () => {
    const second = vi.fn(async () => "second");
    const { kaleyra, ws } = await tokenSession(async () => "first");
    void kaleyra.connect("alice", second);
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(second).toHaveBeenCalledTimes(1);
    expect(ws.sentOfType("token")).toEqual([{ type: "token", requestId: "n.1", token: "second" }]);
  });
});

describe("connect: errors", () => {
  it("rejects with the server's code, sentence and field when an error frame refuses the connect, and stops", async () => {
    const { kaleyra, server, timers } = fakeClient();
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "disconnecting", mode: "token", userId: "alice" });
    ws.receive({ type: "error", code: "session_conflict", message: "A session of the other kind is active.", field: "x" });
    const err = await rejection(p);
    expect(err).toMatchObject({ code: "session_conflict", message: "A session of the other kind is active.", field: "x" });
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", transport: "idle", failure: err });
    expect(timers.pending()).toEqual([]);
  });

  it("reports error frames about a token request to onError without failing the connect", async () => {
    const onError = vi.fn();
    const { kaleyra, server } = fakeClient({ onError });
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "connecting", mode: "token", userId: "alice" });
    ws.receive({ type: "error", code: "token_request_stale", message: "stale", requestId: "n.1" });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: "token_request_stale", message: "stale" }));
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await p).toEqual({ userId: "alice" });
  });

  it("treats an upgrade refusal (error frame, then close 4404) as app_id_invalid and never reopens", async () => {
    const { kaleyra, server, timers, storage } = fakeClient();
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.receive({ type: "error", code: "app_id_invalid", message: "The appId is unknown." });
    ws.drop(4404, "app_id_invalid");
    const err = await rejection(p);
    expect(err.code).toBe("app_id_invalid");
    expect(err.message).toBe("The appId is unknown.");
    timers.advance(120_000);
    expect(server.sockets).toHaveLength(1);
    expect(timers.pending()).toEqual([]);
    expect(storage.items.has("kaleyra.session")).toBe(false);
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", transport: "idle", failure: { code: "app_id_invalid" } });
  });

  it.each([
    [4404, "app_id_invalid"],
    [4400, "bad_request"],
    [4429, "connection_refused"],
  ])("treats close %i without an error frame as %s, with no reopen", async (code, expected) => {
    const { kaleyra, server, timers } = fakeClient();
    const p = kaleyra.connect("alice", token);
    server.last().accept().drop(code);
    expect((await rejection(p)).code).toBe(expected);
    timers.advance(120_000);
    expect(server.sockets).toHaveLength(1);
  });

  it("rejects with not_configured when the server says so (error frame, close 4400)", async () => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.receive({ type: "error", code: "not_configured", message: "Configure first.", field: "environment" });
    ws.drop(4400);
    expect(await rejection(p)).toMatchObject({ code: "not_configured", field: "environment" });
    expect(server.sockets).toHaveLength(1);
  });

  it("rejects with user_inactive on a final disconnected state, and forgets the session", async () => {
    const { kaleyra, server, storage, timers } = fakeClient();
    const p = kaleyra.connect("alice", token);
    expect(storage.json("kaleyra.session")).toEqual({ appId: "mAppId_demo", userId: "alice" });
    const ws = server.last().accept();
    ws.state({ status: "disconnected" });
    ws.state({ status: "connecting", mode: "token", userId: "alice", tokenAttempt: 1 });
    ws.state({ status: "disconnected", mode: "token", userId: "alice", error: "user_inactive", reason: "user_inactive" });
    const err = await rejection(p);
    expect(err.code).toBe("user_inactive");
    expect(err.message).toMatch(/activate it, then connect/);
    expect(storage.items.has("kaleyra.session")).toBe(false);
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", error: "user_inactive", transport: "idle" });
    timers.advance(120_000);
    expect(server.sockets).toHaveLength(1);
  });

  it("does not take a stale final state on attach (from an earlier session) as the end of this one", async () => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.state({ status: "disconnected", error: "user_inactive", reason: "user_inactive" });
    expect(ws.sent).toEqual([{ type: "connect", userId: "alice" }]);
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await p).toEqual({ userId: "alice" });
  });

  it("rejects a connect answered at once with a final state, with no running state between", async () => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect(LINK);
    const ws = await linkSocket(server);
    ws.state({ status: "disconnected" });
    ws.state({ status: "disconnected", mode: "access_link", error: "unknown", reason: "invalid_access_link" });
    expect((await rejection(p)).code).toBe("invalid_access_link");
    expect(ws.closedByClient).toBe(1000);
  });

  it.each([
    [{ error: "unknown", reason: "invalid_access_link" }, "invalid_access_link"],
    [{ reason: "call_ended" }, "call_ended"],
    [{ reason: "requested" }, "disconnected"],
    [{ error: "unknown", reason: "requested" }, "unknown"],
    [{ error: "expired_credentials" }, "expired_credentials"],
  ] as const)("rejects a link connect that ends with %o as %s", async (end, code) => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect(LINK);
    const ws = await linkSocket(server);
    ws.state({ status: "connecting", mode: "access_link" });
    ws.state({ status: "disconnected", ...end });
    const err = await rejection(p);
    expect(err.code).toBe(code);
    expect(err.message.length).toBeGreaterThan(20);
  });

  it("after connected, a session that ends (call ended) clears connectedUser and closes the socket", async () => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect(LINK);
    const ws = await linkSocket(server);
    ws.state({ status: "connected", mode: "access_link", userId: "guest-abc123" });
    await p;
    ws.state({ status: "disconnected", reason: "call_ended" });
    expect(kaleyra.connectedUser).toBeUndefined();
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", reason: "call_ended", failure: { code: "call_ended" } });
    // A new session can start.
    void kaleyra.connect(LINK);
    await linkSocket(server);
    expect(server.sockets).toHaveLength(2);
  });

  it("ignores frames that are not JSON or not frames", async () => {
    const { kaleyra, server } = fakeClient();
    const p = kaleyra.connect("alice", token);
    const ws = server.last().accept();
    ws.receiveRaw("not json");
    ws.receiveRaw("null");
    ws.receiveRaw("42");
    ws.receive({ type: "surprise" });
    ws.receive({ type: "state" });
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(await p).toEqual({ userId: "alice" });
  });
});
