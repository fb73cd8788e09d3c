/**
 * The relay in the session object (issue 14; docs/protocol.md "Relay"), with the fake remote:
 * Kaleyra's events fan out to every proven client in order, emits are acked to their sender only,
 * lifecycle events can be neither forged nor swallowed, and a reload with `since` misses nothing.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EMIT_ACK_TIMEOUT_MS, RELAY_LIMITS } from "../core/relay";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import type { RemoteNotice } from "../core/port";
import { advance, attach, openSocket, sessionNow, sessionStub, snapshot, storageOf, type SessionStub, type TestClient } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const HOUR = 3_600_000;

afterEach(() => fakeRemoteControls.reset());

async function connected(): Promise<{ stub: SessionStub; client: TestClient; remoteId: string }> {
  const stub = await sessionStub(alice);
  const client = await attach(stub, alice);
  client.send({ type: "connect", userId: "alice" });
  const request = await client.nextTokenRequest();
  client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
  await client.waitForStatus("connected");
  return { stub, client, remoteId: (await snapshot(stub)).remoteSessionId! };
}

/** Kaleyra speaks on the connection, inside the object (its sockets belong to its own I/O context). */
const notify = (stub: SessionStub, remoteId: string, notice: RemoteNotice) => runInDurableObject(stub, () => fakeRemoteControls.notify(remoteId, notice));
const kaleyraSays = (stub: SessionStub, remoteId: string, name: string, data: unknown) => notify(stub, remoteId, { type: "remote_event", name, data });
const events = (c: TestClient) => c.ofType("remote_event").map((e) => [e.seq, e.name, e.data]);

describe("down: Kaleyra's events", () => {
  it("reach every proven client in the order Kaleyra sent them, seq 1, 2, 3", async () => {
    const { stub, client, remoteId } = await connected();
    const second = await attach(stub, alice);
    await kaleyraSays(stub, remoteId, "user:status", { userId: "bob", status: "online" });
    await kaleyraSays(stub, remoteId, "call:incoming", { roomId: "r1" });
    await kaleyraSays(stub, remoteId, "chat:typing", null);
    const expected = [[1, "user:status", { userId: "bob", status: "online" }], [2, "call:incoming", { roomId: "r1" }], [3, "chat:typing", null]];
    for (const c of [client, second]) {
      await c.waitFor((x) => x.ofType("remote_event").length === 3, "three events");
      expect(events(c)).toEqual(expected);
    }
  });

  it("attack: an unproven socket on the session's route gets no remote_event", async () => {
    const { stub, client, remoteId } = await connected();
    const stranger = await openSocket(stub, alice);
    await kaleyraSays(stub, remoteId, "user:status", { secret: "who alice talks to" });
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the client's event");
    // The stranger's own round trip proves the session has handled everything before it.
    stranger.send({ type: "remote_emit", id: "e1", name: "chat:send" });
    await stranger.waitFor((c) => c.ofType("error").length > 0, "the stranger's refusal");
    expect(stranger.ofType("error")[0]).toMatchObject({ code: "auth_required" });
    expect(stranger.frames.map((f) => f.type)).toEqual(["auth_required", "error"]);
    expect(fakeRemoteControls.emitted).toEqual([]);
  });

  it("an event whose frame is over 15,360 bytes is dropped whole (no seq used), counted and logged by name and size only", async () => {
    const { stub, client, remoteId } = await connected();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await kaleyraSays(stub, remoteId, "big", "secret-".repeat(RELAY_LIMITS.maxEventFrameBytes / 7));
    await kaleyraSays(stub, remoteId, "small", 1);
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the small event");
    expect(events(client)).toEqual([[1, "small", 1]]);
    expect(warn).toHaveBeenCalledWith("relay: event too large, dropped", { name: "big", bytes: expect.any(Number), dropped: 1 });
    expect(JSON.stringify(warn.mock.calls)).not.toContain("secret-");
    warn.mockRestore();
  });

  it("attack: a reserved name in another case or a Unicode look-alike from Kaleyra is not relayed", async () => {
    const { stub, client, remoteId } = await connected();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const name of ["User:Force_Disconnect", "user:force_d\u0456sconnect", "\uff55ser:force_disconnect", "Switchboard:Connected"]) await kaleyraSays(stub, remoteId, name, { reason: "forged" });
    await kaleyraSays(stub, remoteId, "user:status", 1);
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the plain event");
    expect(events(client)).toEqual([[1, "user:status", 1]]);
    expect(client.lastState()).toMatchObject({ status: "connected" });
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });

  it("lifecycle events are not swallowed: is_about_to_expire still starts a refresh while other events flow", async () => {
    const { stub, client, remoteId } = await connected();
    await kaleyraSays(stub, remoteId, "user:status", 1);
    await notify(stub, remoteId, { type: "remote_token_expiring" });
    await kaleyraSays(stub, remoteId, "user:status", 2);
    expect(await client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
    await client.waitFor((c) => c.ofType("remote_event").length === 2, "both events");
    expect(events(client)).toEqual([[1, "user:status", 1], [2, "user:status", 2]]);
    expect(client.lastState()).toMatchObject({ status: "connected", refreshing: true });
  });

  it("a lifecycle name is never relayed as an event, even if an adapter reported one", async () => {
    const { stub, client, remoteId } = await connected();
    await kaleyraSays(stub, remoteId, "switchboard:access_token:update", { accessToken: "x" });
    await kaleyraSays(stub, remoteId, "after", 1);
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the event after");
    expect(events(client)).toEqual([[1, "after", 1]]);
  });

  it("events of an earlier connection are ignored", async () => {
    const { stub, client, remoteId } = await connected();
    await kaleyraSays(stub, "fake-old", "stale", 1);
    await kaleyraSays(stub, remoteId, "fresh", 1);
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the fresh event");
    expect(events(client)).toEqual([[1, "fresh", 1]]);
  });
});

describe("up: a client's remote_emit", () => {
  it("is emitted on the connection and acked with Kaleyra's data, to the emitting client only", async () => {
    const { stub, client, remoteId } = await connected();
    const other = await attach(stub, alice);
    client.send({ type: "remote_emit", id: "e1", name: "chat:send", data: { text: "hi" } });
    expect(await client.waitFor((c) => c.ofType("remote_ack")[0], "ack")).toEqual({ type: "remote_ack", id: "e1", data: { echo: { text: "hi" } } });
    expect(fakeRemoteControls.emitted).toEqual([{ sessionId: remoteId, name: "chat:send", data: { text: "hi" } }]);
    other.send({ type: "remote_emit", id: "o1", name: "ping" });
    await other.waitFor((c) => c.ofType("remote_ack").length === 1, "the other's own ack");
    expect(other.ofType("remote_ack")).toEqual([{ type: "remote_ack", id: "o1", data: { echo: null } }]);
    expect(client.ofType("remote_ack")).toHaveLength(1);
  });

  it("reserved names are refused (reserved_event) and never reach Kaleyra: a client cannot forge a token update", async () => {
    const { client } = await connected();
    for (const name of ["switchboard:access_token:update", "switchboard:connected", "user:force_disconnect"]) {
      client.send({ type: "remote_emit", id: name, name, data: { accessToken: "forged" } });
    }
    await client.waitFor((c) => c.ofType("remote_ack").length === 3, "three refusals");
    for (const ack of client.ofType("remote_ack")) expect(ack).toMatchObject({ error: { code: "reserved_event" } });
    expect(fakeRemoteControls.emitted).toEqual([]);
    expect(fakeRemoteControls.updated).toEqual([]);
  });

  it("attack: a reserved name in another case or a Unicode look-alike is refused and never reaches Kaleyra", async () => {
    const { client } = await connected();
    const names = { "User:Force_Disconnect": "reserved_event", "SWITCHBOARD:ACCESS_TOKEN:UPDATE": "reserved_event", "user:force_d\u0456sconnect": "invalid_frame", "\uff55ser:force_disconnect": "invalid_frame" };
    for (const name of Object.keys(names)) client.send({ type: "remote_emit", id: name, name, data: { accessToken: "forged" } });
    await client.waitFor((c) => c.ofType("remote_ack").length === 4, "four refusals");
    expect(Object.fromEntries(client.ofType("remote_ack").map((a) => [a.id, "error" in a ? a.error.code : "acked"]))).toEqual(names);
    expect(fakeRemoteControls.emitted).toEqual([]);
    expect(fakeRemoteControls.updated).toEqual([]);
  });

  it("while not connected it is refused at once (not_connected), and nothing is queued", async () => {
    const stub = await sessionStub(alice);
    const client = await attach(stub, alice);
    client.send({ type: "remote_emit", id: "e1", name: "chat:send" });
    expect(await client.waitFor((c) => c.ofType("remote_ack")[0], "ack")).toMatchObject({ id: "e1", error: { code: "not_connected" } });
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    await client.waitForStatus("connected");
    expect(fakeRemoteControls.emitted).toEqual([]);
  });

  it("without Kaleyra's ack in 10 s it is answered remote_timeout, on the session's alarm", async () => {
    const { stub, client } = await connected();
    fakeRemoteControls.emitAnswer = "hang";
    const before = await sessionNow(stub);
    client.send({ type: "remote_emit", id: "slow", name: "chat:send" });
    await client.waitFor(() => fakeRemoteControls.emitted.length === 1, "the emit");
    const after = await sessionNow(stub);
    // The one alarm is armed for the ack deadline (earlier than the 15 s liveness check).
    const deadline = (await storageOf(stub)).alarmAt!;
    expect(deadline).toBeGreaterThanOrEqual(before + EMIT_ACK_TIMEOUT_MS);
    expect(deadline).toBeLessThanOrEqual(Math.ceil(after) + EMIT_ACK_TIMEOUT_MS);
    await advance(stub, deadline - 100 - (await sessionNow(stub)));
    await runDurableObjectAlarm(stub);
    await new Promise((r) => setTimeout(r, 50)); // room for an early ack to arrive, if one was sent
    expect(client.ofType("remote_ack")).toEqual([]);
    await advance(stub, 200);
    await runDurableObjectAlarm(stub);
    expect(await client.waitFor((c) => c.ofType("remote_ack")[0], "timeout")).toMatchObject({ id: "slow", error: { code: "remote_timeout" } });
  });

  it("Kaleyra's refusal is remote_refused; a bad emit is answered invalid_frame by its id", async () => {
    const { client } = await connected();
    fakeRemoteControls.emitAnswer = "refuse";
    client.send({ type: "remote_emit", id: "no", name: "chat:send" });
    client.send({ type: "remote_emit", id: "bad", name: "" });
    await client.waitFor((c) => c.ofType("remote_ack").length === 2, "two acks");
    const byId = Object.fromEntries(client.ofType("remote_ack").map((a) => [a.id, a]));
    expect(byId.no).toMatchObject({ error: { code: "remote_refused" } });
    expect(byId.bad).toMatchObject({ error: { code: "invalid_frame" } });
    expect(fakeRemoteControls.emitted).toHaveLength(1);
  });
});

describe("reload without loss: auth with since", () => {
  async function reload(stub: SessionStub, credential: string, since: number): Promise<TestClient> {
    const c = await openSocket(stub, alice);
    c.send({ type: "auth", resume: credential, since });
    await c.waitFor((x) => x.ofType("state").length > 0, "proof");
    return c;
  }

  it("replays the events after since, in order, right after the proof and before any new event", async () => {
    const { stub, client, remoteId } = await connected();
    const credential = client.ofType("resume").at(-1)!.credential;
    for (const n of [1, 2, 3]) await kaleyraSays(stub, remoteId, "e", n);
    await client.waitFor((c) => c.ofType("remote_event").length === 3, "three events");
    const reloaded = await reload(stub, credential, 1);
    await kaleyraSays(stub, remoteId, "e", 4);
    await reloaded.waitFor((c) => c.ofType("remote_event").length === 3, "replay and the new one");
    expect(events(reloaded)).toEqual([[2, "e", 2], [3, "e", 3], [4, "e", 4]]);
    expect(reloaded.ofType("remote_gap")).toEqual([]);
    const types = reloaded.frames.map((f) => f.type);
    expect(types.indexOf("state")).toBeLessThan(types.indexOf("remote_event"));
  });

  it("events older than 60 s are gone: remote_gap first, then what is held", async () => {
    const { stub, client, remoteId } = await connected();
    const credential = client.ofType("resume").at(-1)!.credential;
    await kaleyraSays(stub, remoteId, "old", 1);
    await advance(stub, RELAY_LIMITS.maxAgeMs + 1);
    await kaleyraSays(stub, remoteId, "recent", 2);
    await client.waitFor((c) => c.ofType("remote_event").length === 2, "two events");
    const reloaded = await reload(stub, credential, 0);
    await reloaded.waitFor((c) => c.ofType("remote_event").length === 1, "the held event");
    const relayFrames = reloaded.frames.filter((f) => f.type === "remote_gap" || f.type === "remote_event");
    expect(relayFrames).toEqual([{ type: "remote_gap", after: 0 }, { type: "remote_event", seq: 2, name: "recent", data: 2 }]);
  });

  it("a seq the session never reached (it restarted) is a gap", async () => {
    const { stub, client } = await connected();
    const reloaded = await reload(stub, client.ofType("resume").at(-1)!.credential, 40);
    await reloaded.waitFor((c) => c.ofType("remote_gap")[0], "gap");
    expect(reloaded.ofType("remote_gap")).toEqual([{ type: "remote_gap", after: 40 }]);
  });

  it("a proof without since gets only new events", async () => {
    const { stub, client, remoteId } = await connected();
    await kaleyraSays(stub, remoteId, "before", 1);
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "event");
    const joined = await attach(stub, alice);
    await kaleyraSays(stub, remoteId, "after", 2);
    await joined.waitFor((c) => c.ofType("remote_event").length === 1, "the new event");
    expect(events(joined)).toEqual([[2, "after", 2]]);
  });

  it("a failed proof with since replays nothing, and leaves nothing for the next proof", async () => {
    const { stub, client, remoteId } = await connected();
    await kaleyraSays(stub, remoteId, "private", 1);
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "event");
    const forger = await openSocket(stub, alice);
    forger.send({ type: "auth", resume: "forged-credential", since: 0 });
    await forger.waitFor((c) => c.ofType("error")[0], "refusal");
    expect(forger.ofType("error")[0]).toMatchObject({ code: "auth_failed" });
    expect(forger.ofType("remote_event")).toEqual([]);
    // Its next proof, without since, does not inherit the failed one's: still only new events.
    forger.send({ type: "auth", resume: client.ofType("resume").at(-1)!.credential });
    await forger.waitFor((c) => c.ofType("state")[0], "proof");
    await kaleyraSays(stub, remoteId, "new", 2);
    await forger.waitFor((c) => c.ofType("remote_event")[0], "the new event");
    expect(events(forger)).toEqual([[2, "new", 2]]);
  });
});
