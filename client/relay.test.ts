/**
 * The relay over the fake sockets: events to handlers in order, off, emits settled by their acks,
 * `since` on a resume proof (also after a reload), the gap handler.
 */
import { describe, expect, it, vi } from "vitest";
import { ANY, EMIT_WAIT_MS, EMITS_PER_SECOND, relay, type RelayedEvent } from "./relay";
import { connectWithToken, fakeClient, PROOF, RESUME } from "./testing";
import { SESSION_KEY } from "./saved-data";


/** A connected token session with a relay attached; `ws` is its socket. */
async function connected(options: Parameters<typeof fakeClient>[0] = {}) {
  const client = fakeClient(options);
  const remote = relay(client.kaleyra, { storage: client.storage, timers: client.timers, now: () => client.timers.now });
  const ws = await connectWithToken(client);
  return { ...client, remote, ws };
}

const event = (seq: number, name: string, data?: unknown) => ({ type: "remote_event", seq, name, ...(data !== undefined && { data }) });
const outcome = (p: Promise<unknown>) => p.then((data) => ({ data }), (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }));

describe("relay: events", () => {
  it("calls the handlers of each event's name in the order the server sent them, and ANY handlers for all", async () => {
    const { remote, ws } = await connected();
    const heard: string[] = [];
    remote.on("user:status_changed", (data) => heard.push(`status ${JSON.stringify(data)}`));
    remote.on("call:incoming", (data) => heard.push(`call ${JSON.stringify(data)}`));
    remote.on(ANY, (_data, e: RelayedEvent) => heard.push(`any ${e.name}#${e.seq}`));
    ws.receive(event(1, "user:status_changed", { userId: "bob", status: "busy" }));
    ws.receive(event(2, "call:incoming", { callId: "c1", from: "bob" }));
    ws.receive(event(3, "other:thing"));
    expect(heard).toEqual([
      'status {"userId":"bob","status":"busy"}',
      "any user:status_changed#1",
      'call {"callId":"c1","from":"bob"}',
      "any call:incoming#2",
      "any other:thing#3",
    ]);
    expect(remote.seq).toBe(3);
  });

  it("gives null for an event without data, and ignores malformed frames (no name, no integer seq)", async () => {
    const { remote, ws } = await connected();
    const handler = vi.fn();
    remote.on("x", handler);
    ws.receive(event(1, "x"));
    ws.receive({ type: "remote_event", seq: 1.5, name: "x" });
    ws.receive({ type: "remote_event", seq: 2 });
    ws.receiveRaw("not json");
    expect(handler.mock.calls).toEqual([[null, { name: "x", seq: 1, data: null }]]);
    expect(remote.seq).toBe(1);
  });

  it("off() stops a handler; a handler that throws does not stop the next one", async () => {
    const { remote, ws } = await connected();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const first = vi.fn(() => {
      throw new Error("boom");
    });
    const second = vi.fn();
    remote.on("x", first).on("x", second);
    ws.receive(event(1, "x", 1));
    remote.off("x", first);
    ws.receive(event(2, "x", 2));
    expect(first).toHaveBeenCalledTimes(1);
    expect(second.mock.calls.map((c) => c[0])).toEqual([1, 2]);
    expect(error).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });

  it("takes a smaller seq as a new stream (the session object restarted)", async () => {
    const { remote, ws } = await connected();
    ws.receive(event(7, "x"));
    ws.receive(event(1, "x"));
    expect(remote.seq).toBe(1);
  });

  it("the core client still ignores the relay frames it does not know", async () => {
    const { kaleyra, ws } = await connected();
    const before = kaleyra.state.value;
    ws.receive(event(1, "x"));
    ws.receive({ type: "remote_gap", after: 3 });
    expect(kaleyra.state.value).toBe(before);
  });
});

describe("relay: emit", () => {
  it("sends remote_emit and resolves with the ack's data", async () => {
    const { remote, ws } = await connected();
    const result = outcome(remote.emit("user:status:set", { status: "busy" }));
    const sent = ws.sentOfType("remote_emit" as never).at(-1) as unknown as { id: string };
    expect(sent).toEqual({ type: "remote_emit", id: expect.any(String), name: "user:status:set", data: { status: "busy" } });
    ws.receive({ type: "remote_ack", id: "no-such-id", data: "ignored" });
    ws.receive({ type: "remote_ack", id: sent.id, data: { status: 200 } });
    expect(await result).toEqual({ data: { status: 200 } });
  });

  it("rejects with a KaleyraError carrying the ack's error code and message", async () => {
    const { remote, ws } = await connected();
    const result = outcome(remote.emit("switchboard:connected"));
    const sent = ws.sent.at(-1) as unknown as { id: string };
    expect(sent).toEqual({ type: "remote_emit", id: sent.id, name: "switchboard:connected" });
    ws.receive({ type: "remote_ack", id: sent.id, error: { code: "reserved_event", message: "That event is the session's own." } });
    expect(await result).toEqual({ code: "reserved_event", message: "That event is the session's own." });
  });

  it("gives each emit its own id and settles each by its own ack, in any order", async () => {
    const { remote, ws } = await connected();
    const a = outcome(remote.emit("a"));
    const b = outcome(remote.emit("b"));
    const [ea, eb] = ws.sent.slice(-2) as unknown as { id: string }[];
    expect(ea!.id).not.toBe(eb!.id);
    ws.receive({ type: "remote_ack", id: eb!.id, data: "B" });
    ws.receive({ type: "remote_ack", id: ea!.id, data: "A" });
    expect([await a, await b]).toEqual([{ data: "A" }, { data: "B" }]);
  });

  it("refuses at once with not_connected before the session is connected, sending nothing", async () => {
    const { kaleyra, server, storage, timers } = fakeClient();
    const remote = relay(kaleyra, { storage, timers });
    expect(await outcome(remote.emit("a"))).toMatchObject({ code: "not_connected" });
    void kaleyra.connect("alice", async () => "tok");
    const ws = server.last().accept();
    expect(await outcome(remote.emit("a"))).toMatchObject({ code: "not_connected" });
    expect(ws.sent).toEqual([]);
  });

  it("refuses a bad name or an oversized frame with invalid_frame, sending nothing", async () => {
    const { remote, ws } = await connected();
    const before = ws.sent.length;
    expect(await outcome(remote.emit(""))).toMatchObject({ code: "invalid_frame" });
    expect(await outcome(remote.emit("n".repeat(129)))).toMatchObject({ code: "invalid_frame" });
    expect(await outcome(remote.emit("big", "x".repeat(16_384)))).toMatchObject({ code: "invalid_frame" });
    expect(await outcome(remote.emit("bigint", 10n))).toMatchObject({ code: "invalid_frame" });
    expect(ws.sent.length).toBe(before);
  });

  it(`refuses more than ${EMITS_PER_SECOND} emits a second with rate_limited, sending nothing (the server would close the socket)`, async () => {
    const { remote, ws, timers } = await connected();
    const before = ws.sent.length;
    for (let i = 0; i < EMITS_PER_SECOND; i++) void remote.emit("a").catch(() => {});
    expect(await outcome(remote.emit("a"))).toMatchObject({ code: "rate_limited" });
    expect(ws.sent.length - before).toBe(EMITS_PER_SECOND);
    timers.advance(1_000);
    void remote.emit("a").catch(() => {});
    expect(ws.sent.length - before).toBe(EMITS_PER_SECOND + 1);
  });

  it("fails a waiting emit with emit_unconfirmed when its socket goes away (its ack would come on that socket only)", async () => {
    const { remote, ws } = await connected();
    const result = outcome(remote.emit("a"));
    ws.drop();
    expect(await result).toMatchObject({ code: "emit_unconfirmed" });
  });

  it("fails with remote_timeout when no ack comes within EMIT_WAIT_MS; a late ack is ignored", async () => {
    const { remote, ws, timers } = await connected();
    const result = outcome(remote.emit("a"));
    timers.advance(EMIT_WAIT_MS);
    expect(await result).toMatchObject({ code: "remote_timeout" });
    ws.receive({ type: "remote_ack", id: (ws.sent.at(-1) as unknown as { id: string }).id, data: 1 });
  });
});

describe("relay: reload without loss", () => {
  it("sends the last seq as `since` with the resume proof of the next socket", async () => {
    const { ws, server, timers } = await connected();
    ws.receive(event(1, "x"));
    ws.receive(event(2, "x"));
    ws.drop();
    timers.advance(30_000);
    const next = server.last().accept();
    next.receive(PROOF);
    expect(next.sent[0]).toEqual({ type: "auth", resume: "cred-1", since: 2 });
  });

  it("saves the seq with the session record, so a reloaded page sends it too", async () => {
    const { ws, storage, reload, server, timers } = await connected();
    ws.receive(event(1, "x"));
    ws.receive(event(4, "x"));
    expect(storage.json(SESSION_KEY)).toMatchObject({ userId: "alice", resume: { credential: "cred-1" }, seq: 4 });
    // A new resume credential rewrites the record: the seq is written again after it.
    ws.receive({ ...RESUME, credential: "cred-2" });
    expect(storage.json(SESSION_KEY)).toMatchObject({ resume: { credential: "cred-2" }, seq: 4 });

    const page = reload();
    relay(page, { storage, timers });
    void page.connect("alice", async () => "tok");
    const next = server.last().accept();
    next.receive(PROOF);
    expect(next.sent[0]).toEqual({ type: "auth", resume: "cred-2", since: 4 });
  });

  it("without a relay, or before any event, the resume proof has no since", async () => {
    const { ws, server, timers, reload, storage } = await connected();
    ws.drop();
    timers.advance(30_000);
    const next = server.last().accept();
    next.receive(PROOF);
    expect(next.sent[0]).toEqual({ type: "auth", resume: "cred-1" });
    storage.setItem(SESSION_KEY, JSON.stringify({ ...(storage.json(SESSION_KEY) as object), seq: 5 }));
    const page = reload();
    void page.connect("alice", async () => "tok");
    const bare = server.last().accept();
    bare.receive(PROOF);
    expect(bare.sent[0]).toEqual({ type: "auth", resume: "cred-1" });
  });

  it("forgets the seq when the session ends for this client (a later session is a new stream)", async () => {
    const { kaleyra, remote, ws, storage } = await connected();
    ws.receive(event(3, "x"));
    const done = kaleyra.disconnect();
    ws.state({ status: "disconnected", reason: "requested" });
    await done;
    expect(remote.seq).toBeUndefined();
    expect(storage.json(SESSION_KEY)).toBeUndefined();
  });

  it("calls onGap with `after` on remote_gap, then takes the events that follow", async () => {
    const onGap = vi.fn();
    const { remote, ws } = await connected();
    remote.onGap = onGap;
    ws.receive({ type: "remote_gap", after: 9 });
    ws.receive(event(1, "x"));
    expect(onGap).toHaveBeenCalledWith(9);
    expect(remote.seq).toBe(1);
  });

  it("detach() removes the hook: no more events, no since, waiting emits fail", async () => {
    const { kaleyra, remote, ws } = await connected();
    const handler = vi.fn();
    remote.on("x", handler);
    const result = outcome(remote.emit("a"));
    remote.detach();
    ws.receive(event(1, "x"));
    expect(handler).not.toHaveBeenCalled();
    expect(kaleyra.relay).toBeUndefined();
    expect(await result).toMatchObject({ code: "emit_unconfirmed" });
    expect(() => relay(kaleyra)).not.toThrow();
    expect(() => relay(kaleyra)).toThrow(TypeError);
  });
});
