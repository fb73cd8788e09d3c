/**
 * Test helpers for sessions under workerd: open a client socket straight to a UserSession (as the
 * Worker would route it), record every frame, and wait for one with a bounded poll.
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { AppSettings } from "../core/app";
import type { ClientFrame, ServerFrame } from "../core/protocol";
import type { SessionState } from "../core/session";
import type { UserSession } from "../durable-objects/UserSession";
import { signHs256 } from "../crypto/jwt";
import { apps } from "../durable-objects/apps";
import { accessLinkDigest } from "../core/access-link";
import { SESSION_ROUTE_HEADER, sessionObjectName, type SessionKey, type SessionRoute } from "../durable-objects/session-route";
import { USED_TICKETS_KEY } from "../durable-objects/used-tickets";

/** A session as a test names it: by user, or by the access link itself (routed by its digest). */
export type TestKey = { kind: "token"; userId: string } | { kind: "access_link"; accessLink: string };

export async function sessionKeyOf(key: TestKey): Promise<SessionKey> {
  if (key.kind === "token") return key;
  const linkDigest = await accessLinkDigest(key.accessLink);
  if (linkDigest === undefined) throw new Error(`not an access link: ${key.accessLink}`);
  return { kind: "access_link", linkDigest };
}

/** The epoch the test app's registration has (routes carry it, as the Worker's do). */
let testAppEpoch = "";

export const APP_ID = "mAppId_test";
/** Test apps accept tickets too, so tests can attach a verified client without a token. */
export const SANDBOX_EU: AppSettings = { environment: "sandbox", region: "eu", attachModes: ["token", "resume", "ticket"] };
export const TICKET_SECRET = "test-attach-ticket-secret-0123456789";

/** A tenant-signed attach ticket for the user, with a fresh jti, valid for 5 minutes (or already expired). */
export function ticketFor(appId: string, userId: string, expiresInSec = 300, secret = TICKET_SECRET, claims: Record<string, unknown> = {}): Promise<string> {
  return signHs256({ appId, userId, exp: Math.floor(Date.now() / 1_000) + expiresInSec, jti: crypto.randomUUID(), ...claims }, secret);
}

let testAppRegistered = false;
async function registerTestApp(): Promise<void> {
  if (testAppRegistered) return;
  const put = await apps(env).putApp(APP_ID, SANDBOX_EU, { attachTicketSecret: TICKET_SECRET });
  if (!put.ok) throw new Error(`register test app: ${put.error.code}`);
  testAppEpoch = put.value.record.epoch;
  testAppRegistered = true;
}

/**
 * Registers the test app anew (its epoch changes) after removing it, as an admin's DELETE and PUT
 * would, but without telling any session (as for a session the removal did not reach). Later
 * sockets are routed with the new epoch; the old one is returned for routing stale sockets.
 */
export async function reregisterTestApp(): Promise<{ oldEpoch: string; newEpoch: string }> {
  await registerTestApp();
  const oldEpoch = testAppEpoch;
  await apps(env).deleteApp(APP_ID);
  const put = await apps(env).putApp(APP_ID, SANDBOX_EU, { attachTicketSecret: TICKET_SECRET });
  if (!put.ok) throw new Error(`register test app: ${put.error.code}`);
  testAppEpoch = put.value.record.epoch;
  return { oldEpoch, newEpoch: testAppEpoch };
}

export type SessionStub = DurableObjectStub<UserSession>;

let objectCounter = 0;

/** A stub for a fresh session object (unique per call, so tests never share state). */
export async function sessionStub(key: TestKey): Promise<SessionStub> {
  objectCounter += 1;
  const name = `${sessionObjectName(APP_ID, await sessionKeyOf(key))}#${objectCounter}`;
  return env.USER_SESSION.get(env.USER_SESSION.idFromName(name));
}

export class TestClient {
  readonly frames: ServerFrame[] = [];
  /** Text frames that are not JSON (the "pong" keep-alive answer). */
  readonly raw: string[] = [];
  closed = false;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      try {
        this.frames.push(JSON.parse(e.data as string) as ServerFrame);
      } catch {
        this.raw.push(e.data as string);
      }
    });
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

/** Opens a socket to the session as the Worker routes it, without proving anything. */
export async function openSocket(stub: SessionStub, key: TestKey, app: AppSettings = SANDBOX_EU, appEpoch?: string): Promise<TestClient> {
  return openClient(stub, key, app, appEpoch, false);
}

/** A socket whose peer never answers the session's close frame (it stays CLOSING on the session's side). */
export function openDeafSocket(stub: SessionStub, key: TestKey): Promise<TestClient> {
  return openClient(stub, key, SANDBOX_EU, undefined, true);
}

async function openClient(stub: SessionStub, key: TestKey, app: AppSettings, appEpoch: string | undefined, deaf: boolean): Promise<TestClient> {
  await registerTestApp();
  const route: SessionRoute = { appId: APP_ID, appEpoch: appEpoch ?? testAppEpoch, key: await sessionKeyOf(key), app };
  const res = await stub.fetch("http://session/socket", {
    headers: { Upgrade: "websocket", [SESSION_ROUTE_HEADER]: JSON.stringify(route) },
  });
  if (res.status !== 101 || !res.webSocket) throw new Error(`attach failed: ${res.status}`);
  // Half open: the runtime does not answer the peer's close for us.
  res.webSocket.accept(deaf ? { allowHalfOpen: true } : {});
  const client = new TestClient(res.webSocket);
  await client.waitFor((c) => c.frames.length > 0, "first frame");
  return client;
}

/**
 * Opens a socket and proves it: a token socket with a ticket (a client that started nothing), a
 * link socket with its link (which also connects the link session: the link is its connect).
 */
export async function attach(stub: SessionStub, key: TestKey, app: AppSettings = SANDBOX_EU): Promise<TestClient> {
  const client = await openSocket(stub, key, app);
  if (client.ofType("auth_required").length !== 1) throw new Error(`expected auth_required: ${JSON.stringify(client.frames)}`);
  if (key.kind === "token") client.send({ type: "auth", ticket: await ticketFor(APP_ID, key.userId) });
  else client.send({ type: "connect", accessLink: key.accessLink });
  await client.waitFor((c) => c.ofType("state").length > 0, "first state frame");
  return client;
}

export function snapshot(stub: SessionStub): Promise<SessionState> {
  return runInDurableObject(stub, (o: UserSession) => o.snapshot());
}

/** Polls the object's state until `predicate` holds; fails after `timeoutMs`. */
export async function waitForSnapshot(stub: SessionStub, predicate: (s: SessionState) => boolean, what = "state", timeoutMs = 3_000): Promise<SessionState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await snapshot(stub);
    if (predicate(s)) return s;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; state: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
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

/**
 * storageOf without the memory of used attach tickets (durable-objects/used-tickets.ts) and the
 * alarm that drops it: `attach` proves with a ticket, and that memory outlives the session's own
 * data until the ticket expires. For tests about the session's own storage and duties.
 */
export function sessionStorageOf(stub: SessionStub): Promise<{ alarmAt: number | undefined; keys: string[] }> {
  return runInDurableObject(stub, async (o: UserSession, state) => {
    const real = await state.storage.getAlarm();
    const tickets = state.storage.kv.get<{ expMs: number }[]>(USED_TICKETS_KEY) ?? [];
    const alarmAt = real === null ? undefined : real - o.clock.toRealTime(0);
    const keys = [...state.storage.kv.list()].map(([k]) => k).filter((k) => k !== USED_TICKETS_KEY);
    const ticketAlarm = alarmAt !== undefined && tickets.some((t) => Math.abs(Math.ceil(o.clock.toRealTime(t.expMs)) - real!) <= 1);
    return { alarmAt: ticketAlarm ? undefined : alarmAt, keys };
  });
}
