/**
 * The local push service refuses what a real push service refuses (each test is the attack and fails
 * if its check is removed), and serves its routes for the local composition.
 */
import { describe, expect, it } from "vitest";
import { base64UrlEncode } from "../crypto/jwt";
import { generateVapidKeys, vapidAuthorization, type VapidKeys } from "../crypto/vapid";
import { sendWebPush } from "../remote/push/web-push";
import { LocalPushService, parseVapidAuthorization, pushServiceRoutes } from "./push-service";

const ORIGIN = "https://push.example.net";
const nowSec = () => Math.floor(Date.now() / 1_000);

/** A valid push, captured on its way out of the sender, for a test to alter before the service sees it. */
async function validPush() {
  const service = new LocalPushService(ORIGIN);
  const vapid = await generateVapidKeys();
  const subscription = await service.subscribe(vapid.publicKey);
  let captured: Request | undefined;
  const fetch = async (r: Request) => ((captured = r), new Response(null, { status: 201 }));
  await sendWebPush({ subscription, payload: '{"hello":1}', vapid, contact: "mailto:ops@tenant.example.com", ttlSec: 60, urgency: "high" }, { fetch, nowSec });
  const body = new Uint8Array(await captured!.arrayBuffer());
  const headers = Object.fromEntries(captured!.headers);
  const send = (change: { headers?: Record<string, string | undefined>; body?: Uint8Array; path?: string } = {}) => {
    const h = new Headers();
    for (const [k, v] of Object.entries({ ...headers, ...change.headers })) if (v !== undefined) h.set(k, v);
    return service.handle(new Request(`${ORIGIN}${change.path ?? `/push/${subscription.id}`}`, { method: "POST", headers: h, body: change.body ?? body }));
  };
  return { service, vapid, subscription, headers, body, send };
}

/** An ES256 JWT with any header and claims, signed with the app's private key. */
async function signed(keys: VapidKeys, header: object, claims: object): Promise<string> {
  const point = Uint8Array.from(atob(keys.publicKey.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const jwk = { kty: "EC", crv: "P-256", d: keys.privateKey, x: base64UrlEncode(point.slice(1, 33)), y: base64UrlEncode(point.slice(33)) };
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const input = `${base64UrlEncode(JSON.stringify(header))}.${base64UrlEncode(JSON.stringify(claims))}`;
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input)));
  return `vapid t=${input}.${base64UrlEncode(signature)}, k=${keys.publicKey}`;
}

const claims = (extra: object = {}) => ({ aud: ORIGIN, exp: nowSec() + 3_600, sub: "mailto:ops@tenant.example.com", ...extra });

describe("the local push service's checks", () => {
  it("takes the untouched push (201) and records the decrypted payload", async () => {
    const { service, send } = await validPush();
    expect((await send()).status).toBe(201);
    expect(service.received.map((r) => r.payload)).toEqual(['{"hello":1}']);
  });

  it("a tampered JWT (claims changed, signature kept) is 401", async () => {
    const { service, headers, send } = await validPush();
    const [t, k] = [/t=([^,\s]+)/.exec(headers.authorization!)![1]!, /k=(\S+)/.exec(headers.authorization!)![1]!];
    const [h, , s] = t.split(".");
    const forged = `vapid t=${h}.${base64UrlEncode(JSON.stringify(claims({ sub: "mailto:evil@x.example.com" })))}.${s}, k=${k}`;
    expect((await send({ headers: { authorization: forged } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toBe("jwt signature invalid");
  });

  it("a JWT signed by another key pair is 401 even with the subscription's key as k; another k is 403", async () => {
    const { service, vapid, send } = await validPush();
    const other = await generateVapidKeys();
    const otherSigned = (await signed(other, { typ: "JWT", alg: "ES256" }, claims())).replace(other.publicKey, vapid.publicKey);
    expect((await send({ headers: { authorization: otherSigned } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toBe("jwt signature invalid");
    expect((await send({ headers: { authorization: await signed(other, { typ: "JWT", alg: "ES256" }, claims()) } })).status).toBe(403);
  });

  it("an expired exp is 401, and so is an exp more than 24 h ahead", async () => {
    const { service, vapid, send } = await validPush();
    expect((await send({ headers: { authorization: await signed(vapid, { alg: "ES256" }, claims({ exp: nowSec() - 1 })) } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toBe("exp passed");
    const far = await vapidAuthorization(vapid, { audience: ORIGIN, subject: "mailto:a@b.c", nowSec: nowSec(), lifetimeSec: 86_400 + 60 });
    expect((await send({ headers: { authorization: far! } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toBe("exp is more than 24 h ahead");
  });

  it("another audience, no sub, or another algorithm is 401", async () => {
    const { service, vapid, send } = await validPush();
    expect((await send({ headers: { authorization: await signed(vapid, { alg: "ES256" }, claims({ aud: "https://other.example.net" })) } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toContain("aud");
    expect((await send({ headers: { authorization: await signed(vapid, { alg: "ES256" }, claims({ sub: undefined })) } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toBe("no sub contact");
    expect((await send({ headers: { authorization: await signed(vapid, { alg: "ES384" }, claims()) } })).status).toBe(401);
    expect(service.refused.at(-1)!.reason).toContain("ES256");
    expect((await send({ headers: { authorization: undefined } })).status).toBe(401);
  });

  it("a missing TTL, a bad Urgency or Topic is 400; aesgcm (the old draft) is 415; over 4,096 bytes 413; unreadable 400", async () => {
    const { service, body, send } = await validPush();
    expect((await send({ headers: { ttl: undefined } })).status).toBe(400);
    expect((await send({ headers: { urgency: "asap" } })).status).toBe(400);
    expect((await send({ headers: { topic: "t".repeat(33) } })).status).toBe(400);
    expect((await send({ headers: { "content-encoding": "aesgcm" } })).status).toBe(415);
    expect((await send({ body: new Uint8Array(4_097) })).status).toBe(413);
    const flipped = body.slice();
    flipped[200]! ^= 1;
    expect((await send({ body: flipped })).status).toBe(400);
    expect(service.received).toEqual([]);
  });

  it("an unknown subscription is 404, a forgotten one 410", async () => {
    const { service, subscription, send } = await validPush();
    expect((await send({ path: "/push/nobody" })).status).toBe(404);
    service.forget(subscription.id);
    expect((await send()).status).toBe(410);
  });

  it("reads the vapid header's parameters in any order, quoted or not, and nothing else", () => {
    expect(parseVapidAuthorization('vapid k="K1", t=a.b.c')).toEqual({ t: "a.b.c", k: "K1" });
    expect(parseVapidAuthorization("Bearer a.b.c")).toBeUndefined();
    expect(parseVapidAuthorization("vapid t=a.b.c")).toBeUndefined();
    expect(parseVapidAuthorization("vapid t=a, t=b, k=c")).toBeUndefined();
  });
});

describe("the service's routes (the local composition)", () => {
  it("makes a subscription, takes a push at its endpoint, shows what arrived, and scripts answers", async () => {
    const service = new LocalPushService("http://127.0.0.1:8787");
    const app = pushServiceRoutes(service);
    const vapid = await generateVapidKeys();
    const made = await app.request("/push-control/subscriptions", { method: "POST", body: JSON.stringify({ applicationServerKey: vapid.publicKey }) });
    expect(made.status).toBe(201);
    const subscription = (await made.json()) as Awaited<ReturnType<LocalPushService["subscribe"]>>;
    expect(subscription.endpoint).toBe(`http://127.0.0.1:8787/push/${subscription.id}`);
    const fetch = async (r: Request) => app.request(new URL(r.url).pathname, r);
    const request = { subscription, payload: "hi", vapid, contact: "mailto:a@b.c", ttlSec: 5, urgency: "high" as const, allowLocal: true };
    expect(await sendWebPush(request, { fetch, nowSec })).toEqual({ kind: "ok", status: 201 });
    expect(await app.request(`/push-control/subscriptions/${subscription.id}/answer`, { method: "POST", body: JSON.stringify({ status: 410 }) })).toHaveProperty("status", 204);
    expect(await sendWebPush(request, { fetch, nowSec })).toEqual({ kind: "gone", status: 410 });
    const seen = (await (await app.request("/push-control/received")).json()) as { received: { payload: string }[]; refused: { status: number }[] };
    expect(seen.received.map((r) => r.payload)).toEqual(["hi"]);
    expect(seen.refused.map((r) => r.status)).toEqual([410]);
    expect((await app.request("/push-control/subscriptions", { method: "POST", body: "{}" })).status).toBe(400);
  });
});
