/**
 * Sessions over a connector in the unit project (REMOTE "fake"): the session's remote becomes the
 * connectors' (connectorRemote, as deployed, through the TestRemote seam), and the connector's own
 * upstream is the in-process fake (test/fake-remote.ts, test/worker.ts), so the connector's
 * routing, batching and restarts run without sockets, in milliseconds.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { connectorName } from "../core/connector";
import { connectorRemote } from "../durable-objects";
import type { ConnectorStats } from "../durable-objects/connector/protocol";
import { kaleyraConnector } from "../durable-objects/stubs";
import type { LocalConnector } from "../dev/connectors";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import type { RemoteNotice } from "../core/port";
import type { AppSettings } from "../core/app";
import type { UserSession } from "./worker";
import { attach, SANDBOX_EU, sessionNow, snapshot, type SessionStub, type TestClient, type TestKey } from "./harness";

export const SHARED_0 = connectorName({ environment: "sandbox", region: "eu" }, 0);

/** The test composition's connectors are LocalConnectors (test/worker.ts): they can be restarted. */
export function connectorStub(name = SHARED_0): DurableObjectStub<LocalConnector> {
  return kaleyraConnector(env, name) as DurableObjectStub<LocalConnector>;
}

/** The session object's remote becomes the connectors' (as deployed, and with REMOTE "emulator"), its REST the fake. */
async function useConnectors(stub: SessionStub): Promise<void> {
  await runInDurableObject(stub, (o: UserSession, state) => {
    o.testRemote.use((fake) => connectorRemote(state, env, fake, { locationHints: false }));
  });
}

/** A connected token session over the connector: its client, and its connection's id (naming the connector). */
export async function connectedOverConnector(stub: SessionStub, key: Extract<TestKey, { kind: "token" }>, app: AppSettings = SANDBOX_EU): Promise<{ client: TestClient; connectionId: string }> {
  await useConnectors(stub);
  const client = await attach(stub, key, app);
  client.send({ type: "connect", userId: key.userId });
  const request = await client.nextTokenRequest();
  client.send({ type: "token", requestId: request.requestId, token: fakeToken(key.userId, (await sessionNow(stub)) + 3_600_000) });
  await client.waitForStatus("connected");
  return { client, connectionId: (await snapshot(stub)).remoteSessionId! };
}

/** The fake upstream's id of a connection the connector holds (undefined when it holds none). */
export function upstreamOf(connectionId: string, name = SHARED_0): Promise<string | undefined> {
  return runInDurableObject(connectorStub(name), (c: LocalConnector) => (c as unknown as { held: { get(id: string): { upstream: string } | undefined } }).held.get(connectionId)?.upstream);
}

/** Kaleyra says something on a connection: played inside the connector, which holds it. */
export async function kaleyraSays(connectionId: string, notice: RemoteNotice, name = SHARED_0): Promise<void> {
  const upstream = await upstreamOf(connectionId, name);
  if (upstream === undefined) throw new Error(`the connector holds no ${connectionId}`);
  await runInDurableObject(connectorStub(name), () => fakeRemoteControls.notify(upstream, notice));
}

export function connectorStats(name = SHARED_0): Promise<ConnectorStats> {
  return connectorStub(name).stats();
}

/** Restarts the connector as a crash or a deploy would, then fires its alarm (which survived). */
export async function restartConnector(name = SHARED_0): Promise<void> {
  await evictDurableObject(connectorStub(name));
  await runDurableObjectAlarm(connectorStub(name));
}

/** Resets the fake's knobs but keeps its listeners: a connector's instance outlives one test. */
export function resetFakeKeepingListeners(): void {
  const listeners = [...fakeRemoteControls.listeners];
  fakeRemoteControls.reset();
  for (const l of listeners) fakeRemoteControls.listeners.add(l);
}
