/**
 * The Web Push sender end to end, in process: VAPID keys, a subscription made by the local push
 * service (dev/push-service.ts) as a browser would, a send, and the service's own verdict: it checked
 * the VAPID JWT and decrypted exactly the payload sent. Then every answer the session acts on.
 */
import { describe, expect, it, vi } from "vitest";
import { pushNotificationPayload, type WakePayload } from "../../core/wake";
import { LocalPushService } from "../../dev/push-service";
import { checkVapidKeys, generateVapidKeys, VAPID_JWT_LIFETIME_SEC } from "../../crypto/vapid";
import { parseRetryAfter, pushTopic, sendWebPush, type WebPushRequest } from "./web-push";

const ORIGIN = "https://push.example.net";
const CONTACT = "mailto:ops@tenant.example.com";
const nowSec = () => Math.floor(Date.now() / 1_000);
const wake: WakePayload = { appId: "mAppId_push", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming", callId: "call_1" } };

async function setup() {
  const service = new LocalPushService(ORIGIN);
  const vapid = await generateVapidKeys();
  const subscription = await service.subscribe(vapid.publicKey);
  const fetch = vi.fn((request: Request) => service.handle(request));
  const request: WebPushRequest = { subscription, payload: pushNotificationPayload(wake, 1_000), vapid, contact: CONTACT, ttlSec: 60, urgency: "high", topic: await pushTopic("call:call_1") };
  return { service, vapid, subscription, fetch, request, deps: { fetch, nowSec } };
}

describe("sendWebPush to the local push service", () => {
  it("delivers: the service verified the VAPID JWT and decrypted exactly the payload sent", async () => {
    const { service, subscription, request, deps } = await setup();
    const before = nowSec();
    expect(await sendWebPush(request, deps)).toEqual({ kind: "ok", status: 201 });
    expect(service.refused).toEqual([]);
    const [arrived, ...more] = service.receivedBy(subscription.id);
    expect(more).toEqual([]);
    expect(arrived!.payload).toBe(request.payload);
    expect(JSON.parse(arrived!.payload)).toMatchObject({ ...wake, type: "kaleyra_wake", title: "Incoming call" });
    expect(arrived).toMatchObject({ ttl: 60, urgency: "high", topic: request.topic, claims: { aud: ORIGIN, sub: CONTACT } });
    expect(arrived!.claims.exp - before).toBeGreaterThanOrEqual(VAPID_JWT_LIFETIME_SEC);
    expect(arrived!.claims.exp - before).toBeLessThanOrEqual(VAPID_JWT_LIFETIME_SEC + 2);
    // Padded to a constant size: the body's length does not tell the payload's.
    expect(arrived!.bodyBytes).toBe(4_096);
  });

  it("a JWT signed with another app's key is refused by the service (403), and the sender says refused", async () => {
    const { service, request, deps } = await setup();
    const other = await generateVapidKeys();
    expect(await sendWebPush({ ...request, vapid: other }, deps)).toMatchObject({ kind: "refused", status: 403 });
    expect(service.received).toEqual([]);
    expect(service.refused[0]!.reason).toContain("applicationServerKey");
  });

  it("a JWT made with a clock 13 h behind (exp passed) is refused (401)", async () => {
    const { service, request, deps } = await setup();
    expect(await sendWebPush(request, { ...deps, nowSec: () => nowSec() - 13 * 3_600 })).toMatchObject({ kind: "refused", status: 401 });
    expect(service.refused[0]!.reason).toBe("exp passed");
  });

  it("404 and 410 say gone (the session removes the subscription)", async () => {
    const { service, subscription, request, deps } = await setup();
    service.answerWith(subscription.id, { status: 404, times: 1 });
    expect(await sendWebPush(request, deps)).toEqual({ kind: "gone", status: 404 });
    service.forget(subscription.id);
    expect(await sendWebPush(request, deps)).toEqual({ kind: "gone", status: 410 });
  });

  it("429 and 5xx say retry, with the Retry-After seconds when given; no answer at all is a retry too", async () => {
    const { service, subscription, request, deps } = await setup();
    service.answerWith(subscription.id, { status: 429, retryAfter: "30", times: 1 });
    expect(await sendWebPush(request, deps)).toEqual({ kind: "retry", status: 429, retryAfterSec: 30 });
    service.answerWith(subscription.id, { status: 500, times: 1 });
    expect(await sendWebPush(request, deps)).toEqual({ kind: "retry", status: 500 });
    service.answerWith(subscription.id, { status: 503, retryAfter: "soon", times: 1 });
    expect(await sendWebPush(request, deps)).toEqual({ kind: "retry", status: 503 });
    expect(await sendWebPush(request, { ...deps, fetch: async () => Promise.reject(new TypeError("network")) })).toEqual({ kind: "retry", status: 0 });
    // The scripts ran out: the next push is delivered.
    expect(await sendWebPush(request, deps)).toEqual({ kind: "ok", status: 201 });
  });

  it("never follows a redirect, and names only the endpoint's origin in any reason", async () => {
    const { subscription, request } = await setup();
    const fetch = vi.fn(async () => new Response(null, { status: 307, headers: { location: "http://127.0.0.1:8787/emulator/control/reset" } }));
    const outcome = await sendWebPush(request, { fetch, nowSec });
    expect(outcome).toMatchObject({ kind: "refused", status: 307, reason: expect.stringContaining("redirect") });
    expect(fetch).toHaveBeenCalledTimes(1);
    expect((fetch.mock.calls[0] as unknown as [Request])[0].redirect).toBe("manual");
    expect(JSON.stringify(outcome)).not.toContain(subscription.id);
  });

  it.each(["http://127.0.0.1:8787/push/x", "https://10.0.0.1/push/x", "https://169.254.169.254/push/x"])(
    "never calls %s (the outbound rule is checked again before every send)",
    async (endpoint) => {
      const { request, fetch, deps } = await setup();
      const outcome = await sendWebPush({ ...request, subscription: { ...request.subscription, endpoint } }, deps);
      expect(outcome).toMatchObject({ kind: "refused", reason: expect.stringContaining("not allowed") });
      expect(JSON.stringify(outcome)).not.toContain("/push/x");
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it("reaches a local push service on loopback only where the deployment allows it", async () => {
    const service = new LocalPushService("http://127.0.0.1:8787");
    const vapid = await generateVapidKeys();
    const subscription = await service.subscribe(vapid.publicKey);
    const request: WebPushRequest = { subscription, payload: "{}", vapid, contact: CONTACT, ttlSec: 0, urgency: "normal" };
    const deps = { fetch: (r: Request) => service.handle(r), nowSec };
    expect(await sendWebPush(request, deps)).toMatchObject({ kind: "refused" });
    expect(await sendWebPush({ ...request, allowLocal: true }, deps)).toEqual({ kind: "ok", status: 201 });
    expect(service.received[0]).toMatchObject({ payload: "{}", ttl: 0, urgency: "normal", claims: { aud: "http://127.0.0.1:8787" } });
  });

  it("refuses what no push service would take, without sending: bad keys, a bad topic, an oversized payload", async () => {
    const { request, fetch, deps } = await setup();
    const badPoint = `B${"A".repeat(86)}`; // 65 bytes starting 0x04, but not a point on the curve
    expect(await sendWebPush({ ...request, subscription: { ...request.subscription, keys: { ...request.subscription.keys, p256dh: badPoint } } }, deps)).toMatchObject({ kind: "refused", reason: "the subscription's keys are not usable" });
    expect(await sendWebPush({ ...request, vapid: { ...request.vapid, privateKey: "short" } }, deps)).toMatchObject({ kind: "refused", reason: "the app's VAPID keys are not usable" });
    expect(await sendWebPush({ ...request, topic: "x".repeat(33) }, deps)).toMatchObject({ kind: "refused" });
    expect(await sendWebPush({ ...request, payload: "x".repeat(3_073) }, deps)).toMatchObject({ kind: "refused" });
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe("VAPID keys and the small parts", () => {
  it("generates a storable pair: a 65-byte public point and a 32-byte private scalar, base64url; checks a pair matches", async () => {
    const keys = await generateVapidKeys();
    expect(keys.publicKey).toMatch(/^B[A-Za-z0-9_-]{86}$/);
    expect(keys.privateKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await checkVapidKeys(keys)).toBe(true);
    const other = await generateVapidKeys();
    expect(await checkVapidKeys({ publicKey: keys.publicKey, privateKey: other.privateKey })).toBe(false);
    expect(await checkVapidKeys({ publicKey: keys.publicKey })).toBe(false);
    expect(await checkVapidKeys(null)).toBe(false);
  });

  it("a topic is 32 base64url characters, the same for the same key", async () => {
    expect(await pushTopic("call:call_1")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await pushTopic("call:call_1")).toBe(await pushTopic("call:call_1"));
    expect(await pushTopic("call:call_2")).not.toBe(await pushTopic("call:call_1"));
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("120", 0)).toBe(120);
    expect(parseRetryAfter(new Date(1_000_030_000).toUTCString(), 1_000_000)).toBe(30);
    expect(parseRetryAfter("later", 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});
