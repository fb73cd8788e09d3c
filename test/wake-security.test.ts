/**
 * The wake's security rules in the session object (docs/security.md, "Wakes"), each an attack that
 * succeeds if its rule is removed: an unproven socket cannot subscribe, an endpoint on a private or
 * loopback address is never kept (this project holds the production rule), an access-link socket
 * keeps nothing, a subscription made with a rotated key is refused and an old one never pushed to,
 * and the caller of the wake RPC cannot wake another user than the object's.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { apps } from "../durable-objects/apps";
import { SESSION_ROUTE_HEADER } from "../durable-objects/session-route";
import { userSession } from "../durable-objects/stubs";
import type { UserSession } from "../durable-objects/UserSession";
import { fakeRemoteControls } from "./fake-remote";
import { TestClient } from "./harness";
import { attachUser, browserSubscription, captureWakeLogs, CALLS, connectUser, kaleyraSays, pushesNow, pushesTo, settle, subscribe, wakeApp, wakeStorage } from "./wake-harness";

afterEach(() => fakeRemoteControls.reset());
captureWakeLogs();

const KEYS = { p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "BTBZMqHH6r4Tts7J_aSIgg" };

describe("who may subscribe", () => {
  it("attack: an unproven socket's push_subscribe is refused push_unproven and nothing is kept", async () => {
    const app = await wakeApp();
    const stranger = await attachUser(app, "alice", false);
    const sub = await browserSubscription(app);
    expect(await subscribe(stranger, app, sub)).toMatchObject({ type: "push_refused", code: "push_unproven", endpoint: sub.endpoint });
    // Never an error frame: a connecting client must not stop on it.
    expect(stranger.ofType("error")).toEqual([]);
    expect((await wakeStorage(app, "alice")).subscriptions).toEqual([]);
  });

  it("attack: an endpoint on a private, loopback or metadata address is refused (push_invalid, the field named)", async () => {
    const app = await wakeApp();
    const client = await attachUser(app, "alice");
    for (const endpoint of ["http://127.0.0.1:8787/push/x", "https://10.0.0.7/push/x", "https://169.254.169.254/latest/meta-data", "https://[::1]/p", "https://metadata.google.internal/p", "https://push.local/p"]) {
      client.send({ type: "push_subscribe", subscription: { endpoint, expirationTime: null, keys: KEYS }, applicationServerKey: app.vapidPublicKey });
      await client.waitFor((c) => c.ofType("push_refused").find((f) => f.endpoint === endpoint), endpoint);
      expect(client.ofType("push_refused").find((f) => f.endpoint === endpoint)).toMatchObject({ code: "push_invalid", field: "subscription.endpoint" });
    }
    expect((await wakeStorage(app, "alice")).subscriptions).toEqual([]);
  });

  it("an access-link session keeps no subscription (push_unavailable): it is one call and wakes nobody", async () => {
    const app = await wakeApp();
    const stub = userSession(env, app.appId, { kind: "access_link", linkDigest: "a".repeat(64) });
    const route = { appId: app.appId, appEpoch: app.epoch, key: { kind: "access_link", linkDigest: "a".repeat(64) }, app: app.settings };
    const res = await stub.fetch("http://session/socket", { headers: { Upgrade: "websocket", [SESSION_ROUTE_HEADER]: JSON.stringify(route) } });
    res.webSocket!.accept();
    const link = new TestClient(res.webSocket!);
    await link.waitFor((c) => c.frames.length > 0, "auth_required");
    // Mark it proven as a link socket would be once Kaleyra accepted its link.
    await runInDurableObject(stub, (_o: UserSession, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ ...ws.deserializeAttachment(), proven: true });
    });
    expect(await subscribe(link, app, await browserSubscription(app))).toMatchObject({ type: "push_refused", code: "push_unavailable" });
  });

  it("an app without Web Push refuses subscriptions (push_disabled)", async () => {
    const app = await wakeApp({ events: ["call:incoming"] });
    const client = await attachUser(app, "alice");
    expect(await subscribe(client, app, await browserSubscription(app))).toMatchObject({ type: "push_refused", code: "push_disabled" });
  });

  it("a malformed push frame is push_invalid naming the field, never an error frame", async () => {
    const app = await wakeApp();
    const client = await attachUser(app, "alice");
    client.send({ type: "push_subscribe", subscription: { endpoint: "https://push.example.net/push/x", expirationTime: null, keys: { ...KEYS, auth: "short" } }, applicationServerKey: app.vapidPublicKey });
    await client.waitFor((c) => c.ofType("push_refused")[0], "push_refused");
    expect(client.ofType("push_refused")[0]).toMatchObject({ code: "push_invalid", field: "subscription.keys.auth" });
    expect(client.ofType("error")).toEqual([]);
  });

  it("unsubscribe takes the endpoint back; a repeat subscription replaces, never adds; at most subscriptionsPerUser are kept", async () => {
    const app = await wakeApp({ ...CALLS, limits: { subscriptionsPerUser: 2 } });
    const client = await attachUser(app, "alice");
    const subs = [await browserSubscription(app), await browserSubscription(app), await browserSubscription(app)];
    for (const sub of [subs[0]!, subs[0]!, subs[1]!, subs[2]!]) await subscribe(client, app, sub);
    expect((await wakeStorage(app, "alice")).subscriptions.map((s) => s.endpoint)).toEqual([subs[1]!.endpoint, subs[2]!.endpoint]);
    client.send({ type: "push_unsubscribe", endpoint: subs[1]!.endpoint });
    await client.waitFor((c) => c.ofType("push_unsubscribed")[0], "push_unsubscribed");
    expect((await wakeStorage(app, "alice")).subscriptions.map((s) => s.endpoint)).toEqual([subs[2]!.endpoint]);
  });
});

describe("rotated VAPID keys", () => {
  it("attack: a subscription made with another key is refused push_key_changed", async () => {
    const app = await wakeApp();
    const other = await wakeApp();
    const client = await attachUser(app, "alice");
    const sub = await browserSubscription(other);
    expect(await subscribe(client, app, sub, other.vapidPublicKey)).toMatchObject({ type: "push_refused", code: "push_key_changed", field: "applicationServerKey" });
  });

  it("after a rotation, subscriptions made with the old key are dropped at the next wake, never pushed to", async () => {
    const app = await wakeApp();
    const { client, remoteId } = await connectUser(app, "alice");
    const sub = await browserSubscription(app);
    await subscribe(client, app, sub);
    client.close();
    await client.waitFor((c) => c.closed, "closed");
    const rotated = await apps(env).putApp(app.appId, app.settings, { vapidKeys: null });
    expect(rotated.ok && rotated.value.record.vapidPublicKey).not.toBe(app.vapidPublicKey);
    // The session reads the app through the isolate's cache; the rotation dropped this isolate's copy.
    await kaleyraSays(app, "alice", remoteId, "call:incoming", { callId: "after_rotation" });
    await settle(app, "alice");
    expect(await pushesNow(sub)).toEqual([]);
    expect((await wakeStorage(app, "alice")).subscriptions).toEqual([]);
  });
});

describe("the wake RPC", () => {
  it("attack: a caller naming another user than the object's wakes nobody", async () => {
    const app = await wakeApp();
    const { client, remoteId: _r } = await connectUser(app, "alice");
    const sub = await browserSubscription(app);
    await subscribe(client, app, sub);
    client.close();
    await client.waitFor((c) => c.closed, "closed");
    const alice = userSession(env, app.appId, { kind: "token", userId: "alice" });
    expect(await alice.wakeUser(app.appId, "mallory", { kind: "tenant", wake: { event: "chat:message" } })).toEqual({ woken: false, skip: "no_session" });
    expect(await alice.wakeUser(app.appId, "alice", { kind: "tenant", wake: { event: "chat:message" } })).toEqual({ woken: true, webPush: 1, webhook: false });
    expect(await pushesTo(sub)).toHaveLength(1);
  });

  it("a wake with nowhere to go (no subscription, no webhook) writes nothing", async () => {
    const app = await wakeApp();
    const bob = userSession(env, app.appId, { kind: "token", userId: "bob" });
    expect(await bob.wakeUser(app.appId, "bob", { kind: "tenant", wake: { event: "chat:message" } })).toEqual({ woken: false, skip: "no_channel" });
    expect((await wakeStorage(app, "bob")).keys).toEqual([]);
  });
});
