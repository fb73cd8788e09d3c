/** A browser's push subscription as the session keeps it: the checks and the per-user bound. */
import { describe, expect, it } from "vitest";
import {
  addSubscription,
  decodeBase64Url,
  endpointOrigin,
  parsePushSubscription,
  pruneExpiredSubscriptions,
  removeSubscription,
  type StoredPushSubscription,
} from "./push-subscription";

// RFC 8291 Appendix A's user agent keys: a real P-256 point and a 16-byte auth secret.
const P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH = "BTBZMqHH6r4Tts7J_aSIgg";
const sub = (endpoint = "https://fcm.googleapis.com/fcm/send/abc123", extra: Record<string, unknown> = {}) => ({ endpoint, expirationTime: null, keys: { p256dh: P256DH, auth: AUTH }, ...extra });

describe("base64url", () => {
  it("decodes unpadded base64url, tolerates padding, refuses other alphabets and non-canonical tails", () => {
    expect([...decodeBase64Url("AQID")!]).toEqual([1, 2, 3]);
    expect([...decodeBase64Url("_-8")!]).toEqual([0xff, 0xef]);
    expect([...decodeBase64Url("AQ==")!]).toEqual([1]);
    expect(decodeBase64Url("a+b/")).toBeUndefined();
    expect(decodeBase64Url("A")).toBeUndefined();
    expect(decodeBase64Url("AR")).toBeUndefined(); // leftover bits set: a second spelling of "AQ"
    expect(decodeBase64Url(P256DH)!.length).toBe(65);
    expect(decodeBase64Url(AUTH)!.length).toBe(16);
  });
});

describe("parsePushSubscription", () => {
  it("keeps what a browser's toJSON() gives", () => {
    expect(parsePushSubscription(sub())).toEqual({ ok: true, value: sub() });
    expect(parsePushSubscription({ ...sub(), expirationTime: 1_900_000_000_000 })).toMatchObject({ ok: true, value: { expirationTime: 1_900_000_000_000 } });
    // Firefox and older Chromes omit expirationTime: kept as null.
    const { expirationTime: _, ...noExpiry } = sub();
    expect(parsePushSubscription(noExpiry)).toMatchObject({ ok: true, value: { expirationTime: null } });
  });

  it.each([
    ["an http endpoint", sub("http://push.example.com/x"), "subscription.endpoint"],
    ["a loopback endpoint", sub("https://127.0.0.1/push/1"), "subscription.endpoint"],
    ["a private address (the push service must not become a proxy)", sub("https://10.0.0.8/push/1"), "subscription.endpoint"],
    ["metadata", sub("https://169.254.169.254/latest"), "subscription.endpoint"],
    ["credentials in the endpoint", sub("https://u:p@push.example.com/x"), "subscription.endpoint"],
    ["a fragment", sub("https://push.example.com/x#y"), "subscription.endpoint"],
    ["an endpoint over 2,048 characters", sub(`https://push.example.com/${"a".repeat(2_048)}`), "subscription.endpoint"],
    ["a p256dh of 64 bytes", { ...sub(), keys: { p256dh: P256DH.slice(0, 86), auth: AUTH } }, "subscription.keys.p256dh"],
    ["a compressed point", { ...sub(), keys: { p256dh: `A${P256DH.slice(1)}`, auth: AUTH } }, "subscription.keys.p256dh"],
    ["a p256dh in standard base64", { ...sub(), keys: { p256dh: P256DH.replace(/_/g, "/"), auth: AUTH } }, "subscription.keys.p256dh"],
    ["an auth of 15 bytes", { ...sub(), keys: { p256dh: P256DH, auth: "BTBZMqHH6r4Tts7J_aSI" } }, "subscription.keys.auth"],
    ["a missing auth", { ...sub(), keys: { p256dh: P256DH } }, "subscription.keys.auth"],
    ["an extra key", { ...sub(), keys: { p256dh: P256DH, auth: AUTH, x: 1 } }, "subscription.keys.x"],
    ["an extra field", sub(undefined, { token: "t" }), "subscription.token"],
    ["a negative expirationTime", sub(undefined, { expirationTime: -1 }), "subscription.expirationTime"],
    ["an expirationTime as text", sub(undefined, { expirationTime: "soon" }), "subscription.expirationTime"],
    ["not an object", "https://push.example.com/x", "subscription"],
  ])("refuses %s, naming the field", (_name, input, field) => {
    expect(parsePushSubscription(input)).toMatchObject({ ok: false, error: { code: "invalid_frame", field } });
  });

  it("accepts the local push service on loopback only where the deployment allows it", () => {
    const local = sub("http://127.0.0.1:8787/push/s1");
    expect(parsePushSubscription(local).ok).toBe(false);
    expect(parsePushSubscription(local, { allowLocal: true }).ok).toBe(true);
    expect(parsePushSubscription(sub("http://10.0.0.1/push/s1"), { allowLocal: true }).ok).toBe(false);
  });

  it("keeps one spelling of each key (padding dropped)", () => {
    const padded = { ...sub(), keys: { p256dh: P256DH, auth: `${AUTH}==` } };
    expect(parsePushSubscription(padded)).toMatchObject({ ok: true, value: { keys: { auth: AUTH } } });
  });
});

describe("the subscriptions a user keeps", () => {
  const stored = (n: number, addedAt: number, expirationTime: number | null = null): StoredPushSubscription => ({ ...sub(`https://push.example.com/s${n}`), expirationTime, addedAt });

  it("keeps at most the bound: the 11th subscription evicts the oldest", () => {
    let list: StoredPushSubscription[] = [];
    for (let i = 1; i <= 10; i++) list = addSubscription(list, sub(`https://push.example.com/s${i}`), i * 1_000).subscriptions;
    const change = addSubscription(list, sub("https://push.example.com/s11"), 11_000);
    expect(change.subscriptions.map((s) => s.endpoint)).toEqual([...Array(10)].map((_, i) => `https://push.example.com/s${i + 2}`));
    expect(change.evicted.map((s) => s.endpoint)).toEqual(["https://push.example.com/s1"]);
  });

  it("a renewed endpoint replaces its keys and counts as newest, evicting nothing", () => {
    const list = [stored(1, 1_000), stored(2, 2_000)];
    const renewed = { ...sub("https://push.example.com/s1"), keys: { p256dh: P256DH, auth: "AAAAAAAAAAAAAAAAAAAAAA" } };
    const change = addSubscription(list, renewed, 3_000, 2);
    expect(change.evicted).toEqual([]);
    expect(change.subscriptions.map((s) => [s.endpoint, s.addedAt, s.keys.auth])).toEqual([
      ["https://push.example.com/s2", 2_000, AUTH],
      ["https://push.example.com/s1", 3_000, "AAAAAAAAAAAAAAAAAAAAAA"],
    ]);
  });

  it("drops expired subscriptions (expirationTime at or before now) when adding or pruning", () => {
    const list = [stored(1, 1_000, 5_000), stored(2, 2_000)];
    expect(pruneExpiredSubscriptions(list, 5_000).evicted.map((s) => s.endpoint)).toEqual(["https://push.example.com/s1"]);
    expect(pruneExpiredSubscriptions(list, 4_999).evicted).toEqual([]);
    expect(addSubscription(list, sub("https://push.example.com/s3"), 6_000).subscriptions.map((s) => s.endpoint)).toEqual(["https://push.example.com/s2", "https://push.example.com/s3"]);
  });

  it("removes by endpoint (unsubscribe, or 404/410 from the push service)", () => {
    const change = removeSubscription([stored(1, 1), stored(2, 2)], "https://push.example.com/s1");
    expect(change.subscriptions.map((s) => s.endpoint)).toEqual(["https://push.example.com/s2"]);
    expect(change.evicted.map((s) => s.endpoint)).toEqual(["https://push.example.com/s1"]);
  });

  it("shows only the endpoint's origin: the path is a capability", () => {
    expect(endpointOrigin("https://fcm.googleapis.com/fcm/send/secret-token")).toBe("https://fcm.googleapis.com");
    expect(endpointOrigin("nonsense")).toBe("(invalid endpoint)");
  });
});
