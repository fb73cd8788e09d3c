/**
 * Sessions and connectors end to end (issue 22): Worker -> UserSession (no socket of its own) ->
 * KaleyraConnector (the user's Socket.IO connection) -> the emulator. A connected session can
 * hibernate; a connector restart sends every session it held round the seed's reconnect schedule;
 * no user's events reach another user; at most a few upgrades are in flight per connector.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { nextDue } from "../../core/session";
import { ConnectorRemote } from "../../durable-objects/connector/session-remote";
import type { UserSession } from "../worker";
import { call, createUser, setFaults, type TestApp } from "../../dev/emulator/testing";
import { connectorStats, connectorStub, SHARED_0 } from "../connector-harness";
import { sessionNow, snapshot, storageOf, waitForSnapshot, type SessionStub, type TestClient } from "../harness";
import { answerWithMinted, attachVia, mintToken, registerApp, stubFor } from "./stack";

afterEach(async () => {
  await setFaults({ outage: "none" });
});

const user = (userId: string) => ({ kind: "token", userId }) as const;

async function connect(app: TestApp, userId: string): Promise<{ stub: SessionStub; client: TestClient }> {
  await createUser(app, userId);
  const stub = await stubFor(app.appId, user(userId));
  const client = await attachVia(app.appId, user(userId));
  client.send({ type: "connect", userId });
  await answerWithMinted(client, app, userId, 0);
  await client.waitForStatus("connected");
  return { stub, client };
}

const connections = async (app: TestApp, userId: string) =>
  ((await call("GET", `/control/connections?appId=${app.appId}&userId=${userId}`)).json.connections as { state: string; socketId: string; previousSocketId: string | null }[]).filter((c) => c.state === "connected");
const emit = (app: TestApp, userId: string, event: string, data: unknown) => call("POST", "/control/connections/emit", { body: { appId: app.appId, userId, event, data } });

describe("a connected session holds no socket", () => {
  it("its remote is a connector's; its alarm carries no heartbeat; evicted (as hibernation does), its Kaleyra connection stays up and Kaleyra's events still reach its clients", async () => {
    const app = await registerApp();
    const { stub, client } = await connect(app, "alice");
    expect(await runInDurableObject(stub, (o: UserSession) => o.testRemote.adapter instanceof ConnectorRemote)).toBe(true);
    const s = await snapshot(stub);
    expect(s.remoteSessionId?.startsWith(`${SHARED_0}/`)).toBe(true);
    // Its one alarm is armed for its own duties only (a used ticket's expiry, the refresh, the rare
    // check), none for Kaleyra's pings (which a connection misses after 45 s at the most).
    expect(nextDue(s)).toBe(s.refreshAt);
    expect((await storageOf(stub)).alarmAt! - (await sessionNow(stub))).toBeGreaterThan(60_000);
    await emit(app, "alice", "chat:message", { n: 1 });
    await client.waitFor((c) => c.ofType("remote_event")[0], "the first event", 5_000);
    await evictDurableObject(stub);
    expect(await connections(app, "alice")).toHaveLength(1);
    await emit(app, "alice", "call:incoming", { roomId: "r1" });
    // The relay's stream was stored: its seq goes on across the hibernation.
    expect(await client.waitFor((c) => c.ofType("remote_event")[1], "the event, after the eviction", 5_000)).toMatchObject({ seq: 2, name: "call:incoming", data: { roomId: "r1" } });
    expect(await snapshot(stub)).toMatchObject({ status: "connected", remoteSessionId: s.remoteSessionId });
    // A reload after another hibernation still gets what it missed.
    const credential = client.ofType("resume").at(-1)!.credential;
    client.close();
    await emit(app, "alice", "chat:message", { n: 3 });
    await evictDurableObject(stub);
    const reloaded = await attachVia(app.appId, user("alice"), { prove: false });
    reloaded.send({ type: "auth", resume: credential, since: 2 });
    expect(await reloaded.waitFor((c) => c.ofType("remote_event")[0], "the missed event", 5_000)).toMatchObject({ seq: 3, data: { n: 3 } });
    expect(reloaded.ofType("remote_gap")).toEqual([]);
  });
});

describe("no user's events reach another user's session", () => {
  it("alice's and bob's connections share a connector; each one's events reach that user's clients only", async () => {
    const app = await registerApp();
    const alice = await connect(app, "alice");
    const bob = await connect(app, "bob");
    const [a, b] = [await snapshot(alice.stub), await snapshot(bob.stub)];
    expect(a.remoteSessionId!.split("/")[0]).toBe(b.remoteSessionId!.split("/")[0]);
    await emit(app, "alice", "chat:message", { to: "alice" });
    await emit(app, "bob", "chat:message", { to: "bob" });
    await emit(app, "alice", "call:incoming", { to: "alice" });
    await alice.client.waitFor((c) => c.ofType("remote_event").length === 2, "alice's events", 5_000);
    await bob.client.waitFor((c) => c.ofType("remote_event").length === 1, "bob's event", 5_000);
    await new Promise((r) => setTimeout(r, 50)); // room for a stray event
    expect(alice.client.ofType("remote_event").map((e) => e.data)).toEqual([{ to: "alice" }, { to: "alice" }]);
    expect(bob.client.ofType("remote_event").map((e) => e.data)).toEqual([{ to: "bob" }]);
  });
});

describe("a connector restart", () => {
  it("every session it held learns its connection is lost and reconnects on the seed's schedule; the new CONNECT names the old socket", async () => {
    const app = await registerApp();
    const alice = await connect(app, "alice");
    const bob = await connect(app, "bob");
    const [oldAlice] = await connections(app, "alice");
    await connectorStub().restartForTest().catch(() => {});
    // The restarted connector's alarm (it survives the restart) reports the orphans.
    await runDurableObjectAlarm(connectorStub());
    for (const side of [alice, bob]) {
      expect(await waitForSnapshot(side.stub, (s) => s.status === "reconnecting", "reconnecting")).toMatchObject({ lastError: "remote_lost", reconnectAttempt: 1 });
    }
    // The sockets died with the connector: Kaleyra (the emulator) closes its side too.
    await answerWithMinted(alice.client, app, "alice", 1);
    await answerWithMinted(bob.client, app, "bob", 1);
    await alice.client.waitForStatus("connected");
    await bob.client.waitForStatus("connected");
    const now = await connections(app, "alice");
    expect(now.at(-1)).toMatchObject({ previousSocketId: oldAlice!.socketId });
    expect((await connectorStats()).held).toBeGreaterThanOrEqual(2);
  });

  it("a loss the session was never told of is found by its rare safety check", async () => {
    const app = await registerApp();
    const { stub } = await connect(app, "alice");
    await connectorStub().restartForTest().catch(() => {});
    // No connector alarm here: the session's own check asks, and the new instance holds nothing.
    await runInDurableObject(stub, (o: UserSession) => o.alarm());
    const s = await snapshot(stub);
    await runInDurableObject(stub, async (o: UserSession) => {
      await (o as unknown as { effects: { perform(fx: unknown, state: unknown): Promise<void> } }).effects.perform({ type: "check_remote", remoteSessionId: s.remoteSessionId }, s);
    });
    expect(await waitForSnapshot(stub, (x) => x.status === "reconnecting", "reconnecting")).toMatchObject({ lastError: "remote_lost" });
  });
});

describe("the local control (/dev/connectors)", () => {
  it("lists what each used connector holds (never an unused overflow shard's counts) and restarts one", async () => {
    const app = await registerApp();
    await connect(app, "alice");
    const list = await SELF.fetch("http://edge.test/dev/connectors?environment=sandbox&region=eu&pool=shared");
    const { shards } = (await list.json()) as { shards: { shard: number; name: string; held: number }[] };
    expect(shards.map((s) => s.shard)).toEqual([0]);
    expect(shards[0]).toMatchObject({ name: SHARED_0 });
    expect(shards[0]!.held).toBeGreaterThanOrEqual(1);
    expect((await SELF.fetch("http://edge.test/dev/connectors?environment=sandbox&region=mars")).status).toBe(400);
    const restart = await SELF.fetch("http://edge.test/dev/connectors/restart", { method: "POST", body: JSON.stringify({ environment: "sandbox", region: "eu", shard: 0 }) });
    expect(await restart.json()).toEqual({ restarted: SHARED_0 });
    expect((await connectorStats()).held).toBe(0);
  });
});

describe("the six-connection limit", () => {
  it("a connector has at most 4 upgrades in flight; the others wait their turn, and every session connects once Kaleyra answers", async () => {
    const app = await registerApp();
    const users = Array.from({ length: 8 }, (_, i) => `u${i}`);
    for (const u of users) await createUser(app, u);
    const clients = await Promise.all(users.map((u) => attachVia(app.appId, user(u))));
    const tokens = await Promise.all(users.map((u) => mintToken(app, u)));
    // Kaleyra holds every upgrade request without answering.
    await setFaults({ outage: "hang" });
    clients.forEach((c, i) => c.send({ type: "connect", userId: users[i]! }));
    for (const [i, c] of clients.entries()) c.send({ type: "token", requestId: (await c.nextTokenRequest()).requestId, token: tokens[i]! });
    const until = Date.now() + 5_000;
    let stats = await connectorStats();
    while (stats.handshakes.active + stats.handshakes.queued < 8 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      stats = await connectorStats();
    }
    expect(stats.handshakes).toMatchObject({ active: 4, queued: 4 });
    await setFaults({ outage: "none" });
    for (const c of clients) await c.waitForStatus("connected");
    expect((await connectorStats()).handshakes).toMatchObject({ active: 0, queued: 0 });
  });
});
