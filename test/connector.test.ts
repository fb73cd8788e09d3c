/**
 * The connector (durable-objects/connector/KaleyraConnector.ts) with sessions over it, its upstream
 * the in-process fake: reports routed by connection id, restarts reported as lost, no retry of its
 * own, one connection per session; and the session's side: stale reports ignored and disowned,
 * reports that beat the open's answer held until after it.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { connectionId, connectorConfig } from "../core/connector";
import { HandshakeGate } from "../core/connector-gate";
import { ConnectorRemote } from "../durable-objects/connector/session-remote";
import { gatedFetch } from "../durable-objects/connector/upstream";
import { SessionWake } from "../durable-objects/session-wake";
import { fakeRemoteControls } from "./fake-remote";
import type { RemoteNotice } from "../core/port";
import { connectedOverConnector, connectorStats, connectorStub, kaleyraSays, resetFakeKeepingListeners, restartConnector, SHARED_0, upstreamOf } from "./connector-harness";
import type { UserSession } from "./worker";
import { SANDBOX_EU, sessionStub, snapshot, waitForSnapshot } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const bob = { kind: "token", userId: "bob" } as const;
const event = (name: string, data: unknown): RemoteNotice => ({ type: "remote_event", name, data });
const events = (c: { ofType(t: "remote_event"): { name: string; data: unknown }[] }) => c.ofType("remote_event").map((e) => [e.name, e.data]);

afterEach(() => resetFakeKeepingListeners());

describe("reports are routed by connection id", () => {
  it("no user's events reach another user's session: alice's go to alice's clients only, bob's to bob's", async () => {
    const a = await sessionStub(alice);
    const b = await sessionStub(bob);
    const aliceSide = await connectedOverConnector(a, alice);
    const bobSide = await connectedOverConnector(b, bob);
    // One connector holds both (the default pool has one base shard).
    expect(aliceSide.connectionId.startsWith(`${SHARED_0}/`)).toBe(true);
    expect(bobSide.connectionId.startsWith(`${SHARED_0}/`)).toBe(true);
    await kaleyraSays(aliceSide.connectionId, event("call:incoming", { for: "alice" }));
    await kaleyraSays(bobSide.connectionId, event("call:incoming", { for: "bob" }));
    await kaleyraSays(aliceSide.connectionId, event("chat:message", { for: "alice", n: 2 }));
    await aliceSide.client.waitFor((c) => c.ofType("remote_event").length === 2, "alice's two events");
    await bobSide.client.waitFor((c) => c.ofType("remote_event").length === 1, "bob's event");
    expect(events(aliceSide.client)).toEqual([["call:incoming", { for: "alice" }], ["chat:message", { for: "alice", n: 2 }]]);
    expect(events(bobSide.client)).toEqual([["call:incoming", { for: "bob" }]]);
  });

  it("reports Kaleyra makes in one turn go to the session as one call, in order (batching)", async () => {
    const a = await sessionStub(alice);
    const { client, connectionId: id } = await connectedOverConnector(a, alice);
    const upstream = (await upstreamOf(id))!;
    const before = await connectorStats();
    await runInDurableObject(connectorStub(), () => {
      for (let n = 1; n <= 5; n++) fakeRemoteControls.notify(upstream, event("chat:message", { n }));
    });
    await client.waitFor((c) => c.ofType("remote_event").length === 5, "five events");
    expect(events(client).map(([, data]) => (data as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
    const after = await connectorStats();
    expect(after.reportCalls.calls - before.reportCalls.calls).toBe(1);
    expect(after.reports.delivered - before.reports.delivered).toBe(5);
  });

  it("each relayed event reaches the relay and the wake hook once (issue 21's one call in the event path)", async () => {
    const a = await sessionStub(alice);
    const { client, connectionId: id } = await connectedOverConnector(a, alice);
    const upstream = (await upstreamOf(id))!;
    const heard = vi.spyOn(SessionWake.prototype, "onKaleyraEvent");
    try {
      await runInDurableObject(connectorStub(), () => {
        for (let n = 1; n <= 3; n++) fakeRemoteControls.notify(upstream, event("call:incoming", { callId: `c${n}` }));
      });
      await client.waitFor((c) => c.ofType("remote_event").length === 3, "three events");
      await new Promise((r) => setTimeout(r, 50)); // room for a duplicate
      expect(heard.mock.calls).toEqual([1, 2, 3].map((n) => ["call:incoming", { callId: `c${n}` }]));
      expect(client.ofType("remote_event").map((e) => e.seq)).toEqual([1, 2, 3]);
    } finally {
      heard.mockRestore();
    }
  });

  it("lifecycle reports drive the session: token expiring starts a refresh, force_disconnect ends it", async () => {
    const a = await sessionStub(alice);
    const { client, connectionId: id } = await connectedOverConnector(a, alice);
    await kaleyraSays(id, { type: "remote_token_expiring" });
    expect(await client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
    await kaleyraSays(id, { type: "user_deactivated" });
    expect(await client.waitForStatus("disconnected")).toMatchObject({ error: "user_inactive" });
    // The connection ended with it: the connector no longer holds it.
    expect(await upstreamOf(id)).toBeUndefined();
  });

  it("a report about a connection the session no longer uses is ignored, disowned, and the connector closes that connection", async () => {
    const a = await sessionStub(alice);
    const { client, connectionId: id } = await connectedOverConnector(a, alice);
    const stale = connectionId(SHARED_0, "00000000-0000-4000-8000-000000000000");
    const answer = await runInDurableObject(a, (o: UserSession) => o.connectorReports([{ connectionId: stale, notice: { type: "remote_lost", byServer: false } }, { connectionId: id, notice: event("x:y", 1) }]));
    expect(answer).toEqual({ disowned: [stale] });
    await client.waitFor((c) => c.ofType("remote_event").length === 1, "the current connection's event");
    expect(await snapshot(a)).toMatchObject({ status: "connected", remoteSessionId: id });
  });
});

describe("a connector restart (deploy, eviction, crash)", () => {
  it("reports lost to every session it held; each reconnects on the seed's schedule: reconnect attempt 1 at once", async () => {
    const a = await sessionStub(alice);
    const b = await sessionStub(bob);
    const aliceSide = await connectedOverConnector(a, alice);
    const bobSide = await connectedOverConnector(b, bob);
    const before = await connectorStats();
    await restartConnector();
    for (const [stub, side] of [[a, aliceSide], [b, bobSide]] as const) {
      const s = await waitForSnapshot(stub, (x) => x.status === "reconnecting", "reconnecting after the restart");
      expect(s).toMatchObject({ lastError: "remote_lost", reconnectAttempt: 1, tokenAttempt: 1 });
      expect(await side.client.nextTokenRequest(1)).toMatchObject({ attempt: 1 });
    }
    const after = await connectorStats();
    expect(after.instanceStartedAt).toBeGreaterThanOrEqual(before.instanceStartedAt);
    expect(after.orphansReported).toBeGreaterThanOrEqual(2);
    // It never reopened anything by itself: the new instance was asked nothing yet.
    expect(after.opens.asked).toBe(0);
    expect(after.held).toBe(0);
  });
});

describe("the connector never retries on its own", () => {
  it("a lost connection is reported once; the only new open is the session's own, on its schedule", async () => {
    const a = await sessionStub(alice);
    const { client, connectionId: id } = await connectedOverConnector(a, alice);
    const asked = (await connectorStats()).opens.asked;
    const opened = fakeRemoteControls.opened.length;
    await kaleyraSays(id, { type: "remote_lost", byServer: true });
    await waitForSnapshot(a, (s) => s.status === "reconnecting", "reconnecting");
    expect((await connectorStats()).opens.asked).toBe(asked);
    expect(fakeRemoteControls.opened.length).toBe(opened);
    // The session's reconnect asks its client for a token first; only the answer opens again.
    const request = await client.nextTokenRequest(1);
    client.send({ type: "token", requestId: request.requestId, token: `fake:alice:${Date.now() + 3_600_000}` });
    await client.waitForStatus("connected");
    expect((await connectorStats()).opens.asked).toBe(asked + 1);
  });

  it("a session holds one connection per connector: a newer open closes the older one", async () => {
    const a = await sessionStub(alice);
    const { connectionId: first } = await connectedOverConnector(a, alice);
    const request = { appId: "mAppId_test", environment: "sandbox" as const, region: "eu" as const, credential: { kind: "token" as const, userId: "alice", token: `fake:alice:${Date.now() + 3_600_000}` }, now: Date.now() };
    const session = await runInDurableObject(a, (_o, state) => state.id.toString());
    const second = await connectorStub().open({ session, connectionId: connectionId(SHARED_0, crypto.randomUUID()), request, purpose: "session" });
    expect(second.ok).toBe(true);
    expect(await upstreamOf(first)).toBeUndefined();
    // A token proof's throwaway connection does not replace it.
    const check = await connectorStub().open({ session, connectionId: connectionId(SHARED_0, crypto.randomUUID()), request, purpose: "check" });
    expect(check.ok).toBe(true);
    expect(await upstreamOf(second.ok ? second.sessionId! : "")).toBeDefined();
  });
});

describe("which connector", () => {
  it("an app with its own pool (upstream.pool own) gets connectors of its own", async () => {
    const a = await sessionStub(alice);
    const { connectionId: id } = await connectedOverConnector(a, alice, { ...SANDBOX_EU, upstream: { pool: "own" } });
    expect(id.startsWith("kc.sandbox.eu.mAppId_test.0/")).toBe(true);
  });

  it("a full connector sends the open on to the next shard; every shard full is unavailable", async () => {
    const asked: string[] = [];
    const full = new Set(["kc.sandbox.eu.shared.0", "kc.sandbox.eu.shared.1"]);
    const connector = (name: string) => ({
      open: async (o: { connectionId: string }) => {
        asked.push(name);
        return full.has(name) ? { ok: false, error: "unavailable", full: true } : { ok: true, userId: "alice", sessionId: o.connectionId };
      },
    });
    const remote = new ConnectorRemote({ connector: connector as never, session: "s", config: { ...connectorConfig({}).config, maxShards: 3 }, rest: undefined as never });
    const request = { appId: "mAppId_test", environment: "sandbox" as const, region: "eu" as const, credential: { kind: "token" as const, userId: "alice", token: "t" }, now: 0 };
    const opened = await remote.openSession(request);
    expect(asked).toEqual(["kc.sandbox.eu.shared.0", "kc.sandbox.eu.shared.1", "kc.sandbox.eu.shared.2"]);
    expect(opened).toMatchObject({ ok: true, sessionId: expect.stringMatching(/^kc\.sandbox\.eu\.shared\.2\//) });
    full.add("kc.sandbox.eu.shared.2");
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await remote.openSession(request)).toEqual({ ok: false, error: "unavailable" });
    expect(warned).toHaveBeenCalledWith(expect.stringContaining("every shard of the pool is full"), { pool: "kc.sandbox.eu.shared.0" });
    warned.mockRestore();
  });
});

describe("the session's side", () => {
  it("a report that comes before the open's answer is held, and delivered right after the session took that answer", async () => {
    const delivered: string[] = [];
    const remote = new ConnectorRemote({ connector: undefined as never, session: "s", config: connectorConfig({}).config, rest: undefined as never });
    remote.listen((id, notice) => delivered.push(`${id}:${notice.type}`));
    // The session generated this id and its open is in flight.
    (remote as unknown as { early: Map<string, RemoteNotice[]> }).early.set("c-new", []);
    const answer = await remote.receive([{ connectionId: "c-new", notice: event("call:incoming", 1) }], () => "c-old", async (id, n) => void delivered.push(`now ${id}:${n.type}`));
    expect(answer).toEqual({ disowned: [] });
    expect(delivered).toEqual([]);
    remote.settled("c-new");
    expect(delivered).toEqual(["c-new:remote_event"]);
    // Settled once: a second settle delivers nothing again.
    remote.settled("c-new");
    expect(delivered).toEqual(["c-new:remote_event"]);
  });

  it("with the connector's handshake gate, at most maxHandshakes upgrades are in flight and the queue is bounded", async () => {
    const gate = new HandshakeGate(2, 3);
    let inFlight = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const slow = () =>
      new Promise<Response>((resolve) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        release.push(() => {
          inFlight -= 1;
          resolve(new Response("no"));
        });
      });
    const fetcher = gatedFetch(gate, slow);
    const results = Array.from({ length: 8 }, () => fetcher(new Request("http://k.test/")).then(() => "answered", (e: Error) => e.message));
    await new Promise((r) => setTimeout(r, 5));
    expect({ inFlight, queued: gate.queued }).toEqual({ inFlight: 2, queued: 3 });
    for (let i = 0; i < 5; i++) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await Promise.all(results)).toEqual(["answered", "answered", "answered", "answered", "answered", "handshake gate: busy", "handshake gate: busy", "handshake gate: busy"]);
    expect(peak).toBe(2);
  });
});
