/**
 * Sessions over a connector in the unit project (REMOTE "fake"): the session's remote becomes a
 * ConnectorRemote, and the connector's own upstream is the in-process fake (remote/fake.ts), so
 * the connector's routing, batching and restarts run without sockets, in milliseconds.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { connectorConfig, connectorName } from "../core/connector";
import type { KaleyraConnector } from "../durable-objects/connector/KaleyraConnector";
import type { ConnectorStats } from "../durable-objects/connector/protocol";
import { ConnectorRemote } from "../durable-objects/connector/session-remote";
import type { UserSession } from "../durable-objects/UserSession";
import { fakeRemoteControls, fakeToken } from "../remote/fake";
import type { RemoteNotice } from "../remote/port";
import type { AppSettings } from "../core/app";
import { attach, SANDBOX_EU, sessionNow, snapshot, type SessionStub, type TestClient, type TestKey } from "./harness";

export const SHARED_0 = connectorName({ environment: "sandbox", region: "eu" }, 0);

export function connectorStub(name = SHARED_0): DurableObjectStub<KaleyraConnector> {
  return env.KALEYRA_CONNECTOR.get(env.KALEYRA_CONNECTOR.idFromName(name));
}

/** The session object's remote becomes a ConnectorRemote (as with REMOTE "emulator" or "kaleyra"). */
export async function useConnectors(stub: SessionStub): Promise<void> {
  await runInDurableObject(stub, (o: UserSession, state) => {
    const remote = new ConnectorRemote({ connectors: env.KALEYRA_CONNECTOR, session: state.id.toString(), config: connectorConfig(env).config, rest: o.remote, locationHints: false });
    const session = o as unknown as { onRemoteNotice(id: string, notice: RemoteNotice): Promise<void> };
    remote.listen((id, notice) => void session.onRemoteNotice(id, notice));
    o.remote = remote;
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
  return runInDurableObject(connectorStub(name), (c: KaleyraConnector) => (c as unknown as { held: { get(id: string): { upstream: string } | undefined } }).held.get(connectionId)?.upstream);
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
  await connectorStub(name).restartForTest().catch(() => {});
  await runDurableObjectAlarm(connectorStub(name));
}

/** Resets the fake's knobs but keeps its listeners: a connector's instance outlives one test. */
export function resetFakeKeepingListeners(): void {
  const listeners = [...fakeRemoteControls.listeners];
  fakeRemoteControls.reset();
  for (const l of listeners) fakeRemoteControls.listeners.add(l);
}
