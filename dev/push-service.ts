/**
 * A local RFC 8030 push service, for the tests and the local composition (issue 21): it makes
 * subscriptions as a browser would (a P-256 key pair and a 16-byte auth secret per subscription,
 * bound to one application server key), and receives pushes at `POST <origin>/push/<id>`.
 * Each push is checked as a real push service does, then decrypted with the subscription's own
 * private key, so a test asserts that what arrived is exactly what was sent. The checks and the
 * decryption are written here from the RFCs with Web Crypto (dev/push-decrypt.ts), independently of
 * the sender's code and its library.
 * Checks, in order, with the status a push service answers:
 * - unknown subscription 404, forgotten one 410;
 * - `Authorization: vapid t=<jwt>, k=<key>` (RFC 8292): missing or malformed 401; `k` not the
 *   subscription's applicationServerKey 403; the JWT not ES256, its signature not valid for `k`, `aud`
 *   not this origin, no `sub` (mailto:/https:), `exp` passed or more than 24 h ahead: 401;
 * - `TTL` missing or not a non-negative integer, a bad `Urgency` or `Topic` (RFC 8030 5.2-5.4): 400;
 * - `Content-Encoding` not aes128gcm 415; a body over 4,096 bytes 413; not decryptable 400;
 * then a scripted answer, if a test set one (404/410/429/500/503, with Retry-After), else 201.
 * Nothing here is used by production code.
 */
import { Hono } from "hono";
import { decodeBase64Url } from "../core/push-subscription";
import { base64Url, decryptPushMessage, newUserAgentKeys, type UserAgentKeys } from "./push-decrypt";

const MAX_PUSH_BODY_BYTES = 4_096;
const DAY_SEC = 86_400;
const TOPIC_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const URGENCIES = ["very-low", "low", "normal", "high"];

/** What a test gets back: the browser's view of a subscription, plus its id here. */
export interface LocalSubscription {
  id: string;
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  subscriptionId: string;
  /** The decrypted payload, as UTF-8 text. */
  payload: string;
  ttl: number;
  urgency?: string;
  topic?: string;
  claims: { aud: string; sub: string; exp: number };
  bodyBytes: number;
  /** When the push arrived (ms since the epoch): the bench's end of "event to push". */
  at: number;
}

export interface RefusedPush {
  subscriptionId: string;
  status: number;
  reason: string;
}

export interface ScriptedAnswer {
  status: 404 | 410 | 429 | 500 | 503;
  retryAfter?: string;
  /** How many pushes get this answer; absent: every push until cleared. */
  times?: number;
}

/** A subscription as the local composition stores it (dev/local-push.ts), so a restarted object still decrypts. */
export interface SavedSubscription {
  id: string;
  applicationServerKey: string;
  /** The subscription's ECDH private key (a browser's secret; this is a test service). */
  privateJwk: JsonWebKey;
  p256dh: string;
  auth: string;
}

interface Held {
  applicationServerKey: string;
  keys: UserAgentKeys;
  gone: boolean;
  script?: ScriptedAnswer;
}

export class LocalPushService {
  readonly #subscriptions = new Map<string, Held>();
  readonly #nowSec: () => number;
  #next = 0;
  readonly received: ReceivedPush[] = [];
  readonly refused: RefusedPush[] = [];

  /** `origin`: where this service is reached (the JWT's `aud` must be it), e.g. "https://push.example.net". */
  constructor(
    readonly origin: string,
    options: { nowSec?: () => number } = {},
  ) {
    this.#nowSec = options.nowSec ?? (() => Math.floor(Date.now() / 1_000));
  }

  /** As a browser's pushManager.subscribe({ applicationServerKey }) would: a new endpoint and keys. */
  async subscribe(applicationServerKey: string): Promise<LocalSubscription> {
    const id = `s${++this.#next}_${base64Url(crypto.getRandomValues(new Uint8Array(9)))}`;
    const keys = await newUserAgentKeys();
    this.#subscriptions.set(id, { applicationServerKey, keys, gone: false });
    return { id, endpoint: `${this.origin}/push/${id}`, expirationTime: null, keys: { p256dh: base64Url(keys.publicKey), auth: base64Url(keys.authSecret) } };
  }

  /** A subscription's keys, to keep across restarts. */
  async saved(id: string): Promise<SavedSubscription | undefined> {
    const held = this.#subscriptions.get(id);
    if (!held) return undefined;
    const privateJwk = (await crypto.subtle.exportKey("jwk", held.keys.privateKey)) as JsonWebKey;
    return { id, applicationServerKey: held.applicationServerKey, privateJwk, p256dh: base64Url(held.keys.publicKey), auth: base64Url(held.keys.authSecret) };
  }

  /** Takes back a subscription saved() gave. */
  async restore(saved: SavedSubscription): Promise<void> {
    const privateKey = await crypto.subtle.importKey("jwk", saved.privateJwk, { name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const keys = { privateKey, publicKey: decodeBase64Url(saved.p256dh)!, authSecret: decodeBase64Url(saved.auth)! };
    this.#subscriptions.set(saved.id, { applicationServerKey: saved.applicationServerKey, keys, gone: false });
  }

  /** The next pushes to this subscription get this answer (after the checks pass). */
  answerWith(id: string, answer: ScriptedAnswer | undefined): void {
    const held = this.#subscriptions.get(id);
    if (held) held.script = answer && { ...answer };
  }

  /** The subscription expires: later pushes get 410 Gone. */
  forget(id: string): void {
    const held = this.#subscriptions.get(id);
    if (held) held.gone = true;
  }

  receivedBy(id: string): ReceivedPush[] {
    return this.received.filter((r) => r.subscriptionId === id);
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const id = /^\/push\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname)?.[1];
    if (request.method !== "POST" || id === undefined) return new Response(null, { status: 404 });
    const held = this.#subscriptions.get(id);
    const refuse = (status: number, reason: string) => {
      this.refused.push({ subscriptionId: id, status, reason });
      return new Response(reason, { status });
    };
    if (!held) return refuse(404, "no such subscription");
    if (held.gone) return refuse(410, "subscription expired");
    const auth = parseVapidAuthorization(request.headers.get("authorization"));
    if (!auth) return refuse(401, "no vapid authorization");
    if (auth.k !== held.applicationServerKey) return refuse(403, "k is not the subscription's applicationServerKey");
    const claims = await verifyVapidJwt(auth.t, auth.k);
    if (typeof claims === "string") return refuse(401, claims);
    const now = this.#nowSec();
    if (claims.aud !== this.origin) return refuse(401, "aud is not this push service's origin");
    if (!(typeof claims.exp === "number" && claims.exp > now)) return refuse(401, "exp passed");
    if (claims.exp > now + DAY_SEC) return refuse(401, "exp is more than 24 h ahead");
    if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub)) return refuse(401, "no sub contact");
    const ttlText = request.headers.get("ttl");
    if (ttlText === null || !/^\d{1,10}$/.test(ttlText)) return refuse(400, "TTL missing or invalid");
    const urgency = request.headers.get("urgency") ?? undefined;
    if (urgency !== undefined && !URGENCIES.includes(urgency)) return refuse(400, "Urgency invalid");
    const topic = request.headers.get("topic") ?? undefined;
    if (topic !== undefined && !TOPIC_PATTERN.test(topic)) return refuse(400, "Topic invalid");
    if (request.headers.get("content-encoding") !== "aes128gcm") return refuse(415, "Content-Encoding is not aes128gcm");
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length > MAX_PUSH_BODY_BYTES) return refuse(413, "body over 4096 bytes");
    const plaintext = await decryptPushMessage(body, held.keys);
    if (plaintext === undefined) return refuse(400, "payload does not decrypt");
    const script = held.script;
    if (script) {
      if (script.times !== undefined && --script.times <= 0) held.script = undefined;
      this.refused.push({ subscriptionId: id, status: script.status, reason: "scripted answer" });
      return new Response(null, { status: script.status, headers: script.retryAfter === undefined ? {} : { "retry-after": script.retryAfter } });
    }
    this.received.push({
      subscriptionId: id,
      payload: new TextDecoder().decode(plaintext),
      ttl: Number(ttlText),
      ...(urgency !== undefined && { urgency }),
      ...(topic !== undefined && { topic }),
      claims: { aud: claims.aud, sub: claims.sub, exp: claims.exp },
      bodyBytes: body.length,
      at: Date.now(),
    });
    return new Response(null, { status: 201, headers: { location: `${this.origin}/message/${this.received.length}` } });
  }
}

/** RFC 8292 section 3: `vapid t=<jwt>, k=<key>`, parameters in any order, optionally quoted. */
export function parseVapidAuthorization(header: string | null): { t: string; k: string } | undefined {
  const m = header === null ? null : /^vapid\s+(.+)$/i.exec(header.trim());
  if (!m) return undefined;
  const params = new Map<string, string>();
  for (const part of m[1]!.split(",")) {
    const p = /^\s*([a-z]+)\s*=\s*"?([A-Za-z0-9_.=-]+)"?\s*$/i.exec(part);
    if (!p || params.has(p[1]!.toLowerCase())) return undefined;
    params.set(p[1]!.toLowerCase(), p[2]!);
  }
  const t = params.get("t");
  const k = params.get("k");
  return t !== undefined && k !== undefined ? { t, k } : undefined;
}

interface VapidClaims {
  aud?: unknown;
  sub?: unknown;
  exp?: unknown;
}

/** The JWT's claims when it is ES256 and its signature is valid for the raw P-256 key `k`; else why not. */
async function verifyVapidJwt(jwt: string, k: string): Promise<(VapidClaims & { aud: string; sub: string; exp: number }) | string> {
  const parts = jwt.split(".");
  if (parts.length !== 3) return "jwt malformed";
  const [h, c, s] = parts as [string, string, string];
  const header = parseJson(decodeBase64Url(h));
  const claims = parseJson(decodeBase64Url(c)) as VapidClaims | undefined;
  const signature = decodeBase64Url(s);
  const key = decodeBase64Url(k);
  if (!header || !claims || !signature || !key) return "jwt malformed";
  if (header.alg !== "ES256") return "jwt alg is not ES256";
  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey("raw", key, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  } catch {
    return "k is not a P-256 public key";
  }
  const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, signature, new TextEncoder().encode(`${h}.${c}`));
  return valid ? (claims as VapidClaims & { aud: string; sub: string; exp: number }) : "jwt signature invalid";
}

function parseJson(bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The service as Hono routes, for the local composition (mounted at its origin): the push resource,
 * and control routes a test or the demo uses: make a subscription, read what arrived, script answers.
 */
export function pushServiceRoutes(service: LocalPushService): Hono {
  const app = new Hono();
  app.post("/push/:id", (c) => service.handle(c.req.raw));
  app.post("/push-control/subscriptions", async (c) => {
    const body = (await c.req.json().catch(() => null)) as { applicationServerKey?: unknown } | null;
    const key = body?.applicationServerKey;
    if (typeof key !== "string" || decodeBase64Url(key)?.length !== 65) return c.json({ error: "applicationServerKey must be a base64url P-256 public key" }, 400);
    return c.json(await service.subscribe(key), 201);
  });
  app.get("/push-control/received", (c) => c.json({ received: service.received, refused: service.refused }));
  app.post("/push-control/subscriptions/:id/answer", async (c) => {
    const body = (await c.req.json().catch(() => null)) as ScriptedAnswer | null;
    if (body !== null && ![404, 410, 429, 500, 503].includes(body.status)) return c.json({ error: "status must be 404, 410, 429, 500 or 503" }, 400);
    service.answerWith(c.req.param("id"), body ?? undefined);
    return c.body(null, 204);
  });
  return app;
}
