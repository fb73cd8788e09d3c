/**
 * Helpers for the wake tests under workerd (issue 21): an app of its own per test with wake settings
 * (so its VAPID pair and settings are the test's), its users' sessions by their real object names
 * (the tenant API and the webhooks reach them by name), and the local push service
 * (dev/local-push.ts) at a public name the unit project's production rule accepts.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, beforeEach, vi } from "vitest";
import type { AppSecretsUpdate, AppSettings } from "../core/app";
import type { RemoteNotice } from "../core/port";
import type { WakeSettings } from "../core/wake-settings";
import { apps } from "../durable-objects/apps";
import { SESSION_ROUTE_HEADER, type SessionRoute } from "../durable-objects/session-route";
import { userSession } from "../durable-objects/stubs";
import type { UserSession } from "../durable-objects/UserSession";
import type { LocalSubscription, ReceivedPush, RefusedPush } from "../dev/push-service";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { TestClient, TICKET_SECRET, ticketFor, type SessionStub } from "./harness";
import { TEST_PUSH_HOST } from "./worker";

export const PUSH_ORIGIN = `https://${TEST_PUSH_HOST}`;
export const CALLS: WakeSettings = { events: ["call:incoming", "on_call_incoming"], webPush: { enabled: true, contact: "mailto:ops@tenant.example.com" } };

export interface WakeApp {
  appId: string;
  epoch: string;
  settings: AppSettings;
  vapidPublicKey: string;
}

/** A fresh app with these wake settings (and a ticket secret, so tests attach without tokens). */
export async function wakeApp(wake: WakeSettings | undefined = CALLS, secrets: AppSecretsUpdate = {}): Promise<WakeApp> {
  const appId = `mAppId_wake_${crypto.randomUUID().slice(0, 8)}`;
  const settings: AppSettings = { environment: "sandbox", region: "eu", attachModes: ["token", "resume", "ticket"], ...(wake && { wake }) };
  const put = await apps(env).putApp(appId, settings, { attachTicketSecret: TICKET_SECRET, ...secrets });
  if (!put.ok) throw new Error(`register wake app: ${put.error.code} ${put.error.message}`);
  return { appId, epoch: put.value.record.epoch, settings, vapidPublicKey: put.value.record.vapidPublicKey! };
}

export function userStub(app: WakeApp, userId: string): SessionStub {
  return userSession(env, app.appId, { kind: "token", userId }) as unknown as SessionStub;
}

/** A socket routed as the Worker would; proven with a ticket unless `prove` is false. */
export async function attachUser(app: WakeApp, userId: string, prove = true): Promise<TestClient> {
  const route: SessionRoute = { appId: app.appId, appEpoch: app.epoch, key: { kind: "token", userId }, app: app.settings };
  const res = await userStub(app, userId).fetch("http://session/socket", { headers: { Upgrade: "websocket", [SESSION_ROUTE_HEADER]: JSON.stringify(route) } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`attach failed: ${res.status}`);
  res.webSocket.accept();
  const client = new TestClient(res.webSocket);
  await client.waitFor((c) => c.frames.length > 0, "auth_required");
  if (!prove) return client;
  client.send({ type: "auth", ticket: await ticketFor(app.appId, userId) });
  await client.waitFor((c) => c.ofType("state").length > 0, "first state");
  return client;
}

/** A proven client that connected the user's session (fake Kaleyra), and the remote session's id. */
export async function connectUser(app: WakeApp, userId: string): Promise<{ client: TestClient; remoteId: string }> {
  const client = await attachUser(app, userId);
  client.send({ type: "connect", userId });
  const request = await client.nextTokenRequest();
  client.send({ type: "token", requestId: request.requestId, token: fakeToken(userId, Date.now() + 3_600_000) });
  await client.waitForStatus("connected");
  const stub = userStub(app, userId);
  const remoteId = await runInDurableObject(stub, (o: UserSession) => o.snapshot().remoteSessionId!);
  return { client, remoteId };
}

/** Kaleyra sends an event on the user's connection (played inside the object: its I/O context). */
export function kaleyraSays(app: WakeApp, userId: string, remoteId: string, name: string, data: unknown): Promise<void> {
  const notice: RemoteNotice = { type: "remote_event", name, data };
  return runInDurableObject(userStub(app, userId), () => fakeRemoteControls.notify(remoteId, notice));
}

/** A browser's subscription at the local push service, bound to the app's key (pushManager.subscribe()). */
export async function browserSubscription(app: WakeApp, origin = PUSH_ORIGIN): Promise<LocalSubscription> {
  const res = await SELF.fetch(`${origin}/push-control/subscriptions`, { method: "POST", body: JSON.stringify({ applicationServerKey: app.vapidPublicKey }) });
  if (res.status !== 201) throw new Error(`subscribe: ${res.status}`);
  return res.json();
}

/** Gives the session the subscription (as client/push.ts does) and waits for its answer. */
export async function subscribe(client: TestClient, app: WakeApp, sub: LocalSubscription, applicationServerKey = app.vapidPublicKey) {
  const { id: _id, ...subscription } = sub;
  const before = client.frames.length;
  client.send({ type: "push_subscribe", subscription, applicationServerKey });
  return client.waitFor((c) => c.frames.slice(before).find((f) => f.type.startsWith("push_")), "a push answer");
}

export async function pushLog(origin = PUSH_ORIGIN): Promise<{ received: ReceivedPush[]; refused: RefusedPush[] }> {
  return (await SELF.fetch(`${origin}/push-control/received`)).json();
}

/** The pushes that reached this subscription, polled until `count` arrived (or 3 s). */
export async function pushesTo(sub: LocalSubscription, count = 1, origin = PUSH_ORIGIN): Promise<ReceivedPush[]> {
  const until = Date.now() + 3_000;
  for (;;) {
    const got = (await pushLog(origin)).received.filter((r) => r.subscriptionId === sub.id);
    if (got.length >= count || Date.now() > until) return got;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pushes that reached this subscription so far. */
export async function pushesNow(sub: LocalSubscription, origin = PUSH_ORIGIN): Promise<ReceivedPush[]> {
  return (await pushLog(origin)).received.filter((r) => r.subscriptionId === sub.id);
}

/** Script the push service's next answers to a subscription (404/410/429/500/503). */
export async function pushServiceAnswers(sub: LocalSubscription, answer: { status: number; retryAfter?: string; times?: number } | null, origin = PUSH_ORIGIN): Promise<void> {
  await SELF.fetch(`${origin}/push-control/subscriptions/${sub.id}/answer`, { method: "POST", body: JSON.stringify(answer) });
}

/** The session's wake storage. */
export function wakeStorage(app: WakeApp, userId: string) {
  return runInDurableObject(userStub(app, userId), (_o, state) => ({
    subscriptions: state.storage.kv.get<{ endpoint: string }[]>("wake.subscriptions") ?? [],
    jobs: state.storage.kv.get<{ attempt: number; dueAt: number; channel: string }[]>("wake.jobs") ?? [],
    keys: [...state.storage.kv.list()].map(([k]) => k),
  }));
}

/** Let the object finish what a frame or a notice started: a round trip through a fresh socket. */
export async function settle(app: WakeApp, userId: string): Promise<void> {
  await runInDurableObject(userStub(app, userId), () => undefined);
  await new Promise((r) => setTimeout(r, 50));
}

/**
 * The wake's operator log lines ("wake …" on console.log and console.warn, durable-objects/
 * session-wake.ts) captured for a test file, so a test can check what a wake logs and the run
 * stays quiet; any other line still reaches the console. Call once at a file's top level.
 */
export function captureWakeLogs(): { lines: unknown[][] } {
  const captured = { lines: [] as unknown[][] };
  const spies: { mockRestore(): void }[] = [];
  beforeEach(() => {
    captured.lines = [];
    for (const level of ["log", "warn"] as const) {
      const original = console[level].bind(console);
      spies.push(
        vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
          if (typeof args[0] === "string" && args[0].startsWith("wake")) captured.lines.push(args);
          else original(...args);
        }),
      );
    }
  });
  afterEach(() => {
    for (const spy of spies.splice(0)) spy.mockRestore();
  });
  return captured;
}
