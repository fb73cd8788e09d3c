/**
 * Test helpers for sessions under workerd: open a client socket straight to a UserSession (as the
 * Worker would route it), record every frame, and wait for one with a bounded poll.
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { AppSettings } from "../core/app";
import type { ClientFrame, ServerFrame } from "../core/protocol";
import type { SessionState } from "../core/session";
import type { UserSession } from "../durable-objects/UserSession";
import { SESSION_ROUTE_HEADER, sessionObjectName, type SessionKey, type SessionRoute } from "../durable-objects/session-route";

export const APP_ID = "mAppId_test";
export const SANDBOX_EU: AppSettings = { environment: "sandbox", region: "eu" };

export type SessionStub = DurableObjectStub<UserSession>;

let objectCounter = 0;

/** A stub for a fresh session object (unique per call, so tests never share state). */
export async function sessionStub(key: SessionKey): Promise<SessionStub> {
  objectCounter += 1;
  const name = `${await sessionObjectName(APP_ID, key)}#${objectCounter}`;
  return env.USER_SESSION.get(env.USER_SESSION.idFromName(name));
}

export class TestClient {
  readonly frames: ServerFrame[] = [];
  closed = false;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => this.frames.push(JSON.parse(e.data as string) as ServerFrame));
    ws.addEventListener("close", () => (this.closed = true));
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | ArrayBuffer): void {
    this.ws.send(data);
  }

  ofType<T extends ServerFrame["type"]>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
  }

  lastState() {
    const states = this.ofType("state");
    return states[states.length - 1]?.state;
  }

  /** Waits until `predicate` holds for this client's frames; fails after `timeoutMs`. */
  async waitFor<T>(predicate: (c: TestClient) => T | undefined | false, what: string, timeoutMs = 2_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate(this);
      if (value !== undefined && value !== false) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async nextTokenRequest(after = 0) {
    return this.waitFor((c) => c.ofType("token_request")[after], `token_request #${after + 1}`);
  }

  async waitForStatus(status: string) {
    return this.waitFor((c) => c.lastState()?.status === status && c.lastState(), `status ${status}`);
  }

  close(): void {
    this.ws.close(1000, "test done");
  }
}

export async function attach(stub: SessionStub, key: SessionKey, app: AppSettings = SANDBOX_EU): Promise<TestClient> {
  const route: SessionRoute = { appId: APP_ID, key, app };
  const res = await stub.fetch("http://session/socket", {
    headers: { Upgrade: "websocket", [SESSION_ROUTE_HEADER]: JSON.stringify(route) },
  });
  if (res.status !== 101 || !res.webSocket) throw new Error(`attach failed: ${res.status}`);
  res.webSocket.accept();
  const client = new TestClient(res.webSocket);
  await client.waitFor((c) => c.ofType("state").length > 0, "first state frame");
  return client;
}

export function snapshot(stub: SessionStub): Promise<SessionState> {
  return runInDurableObject(stub, (o: UserSession) => o.snapshot());
}

/** Moves the object's clock forward (TEST_CLOCK=1 in vitest.config.ts). */
export function advance(stub: SessionStub, ms: number): Promise<void> {
  return runInDurableObject(stub, (o: UserSession) => o.clock.advance(ms));
}

export function sessionNow(stub: SessionStub): Promise<number> {
  return runInDurableObject(stub, (o: UserSession) => o.clock.now());
}

/** The armed alarm in session time (undefined when none), and everything in storage. */
export function storageOf(stub: SessionStub): Promise<{ alarmAt: number | undefined; keys: string[] }> {
  return runInDurableObject(stub, async (o: UserSession, state) => {
    const real = await state.storage.getAlarm();
    const keys = [...state.storage.kv.list()].map(([k]) => k);
    // toRealTime(0) is minus the clock offset, so session time = real time - toRealTime(0).
    return { alarmAt: real === null ? undefined : real - o.clock.toRealTime(0), keys };
  });
}
