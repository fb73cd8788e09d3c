/**
 * An app's VAPID key pair (RFC 8292) and the `Authorization: vapid t=<jwt>, k=<key>` header of a push.
 * Stored form: `publicKey`, the 65-byte uncompressed P-256 point, base64url (what a page passes as
 * `applicationServerKey`, readable by clients); `privateKey`, the 32-byte scalar `d`, base64url: a
 * write-only secret of the app, never returned, never logged.
 * The JWT: ES256 over `{ aud: <endpoint origin>, exp: now + 12 h, sub: <mailto:/https: contact> }`.
 * RFC 8292 allows at most 24 h; 12 h leaves room for clock skew between us and the push service.
 * The clock is injected, so a test can make an expired JWT on purpose.
 */
import { base64UrlDecode, base64UrlEncode } from "./jwt";

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

export const VAPID_JWT_LIFETIME_SEC = 12 * 3_600;
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

/** A new key pair for an app (at registration, or when the operator rotates it). */
export async function generateVapidKeys(): Promise<VapidKeys> {
  const pair = (await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return { publicKey: base64UrlEncode(publicKey), privateKey: jwk.d! };
}

/** The private key as a signing key, or undefined when the pair is not a valid P-256 pair. */
async function signingKey(keys: VapidKeys): Promise<CryptoKey | undefined> {
  const point = base64UrlDecode(keys.publicKey);
  const d = base64UrlDecode(keys.privateKey);
  if (point?.length !== 65 || point[0] !== 0x04 || d?.length !== 32) return undefined;
  const jwk: JsonWebKey = { kty: "EC", crv: "P-256", x: base64UrlEncode(point.slice(1, 33)), y: base64UrlEncode(point.slice(33)), d: keys.privateKey };
  try {
    return await crypto.subtle.importKey("jwk", jwk, ECDSA_P256, false, ["sign"]);
  } catch {
    return undefined;
  }
}

/**
 * True when the pair is usable: both keys well formed and the private key matching the public one
 * (a signature made with it verifies against it). Run when an operator sets a pair.
 */
export async function checkVapidKeys(keys: unknown): Promise<boolean> {
  if (typeof keys !== "object" || keys === null) return false;
  const { publicKey, privateKey } = keys as Record<string, unknown>;
  if (typeof publicKey !== "string" || typeof privateKey !== "string") return false;
  const key = await signingKey({ publicKey, privateKey });
  if (!key) return false;
  try {
    const probe = new TextEncoder().encode("kaleyra-edge vapid key check");
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, probe);
    const verifier = await crypto.subtle.importKey("raw", base64UrlDecode(publicKey)!, ECDSA_P256, false, ["verify"]);
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, verifier, signature, probe);
  } catch {
    return false;
  }
}

export interface VapidClaimsInput {
  /** The push endpoint's origin (scheme://host[:port]). */
  audience: string;
  /** mailto: or https: contact of the app's operator. */
  subject: string;
  nowSec: number;
  lifetimeSec?: number;
}

/** The Authorization header value, or undefined when the keys are not usable. */
export async function vapidAuthorization(keys: VapidKeys, claims: VapidClaimsInput): Promise<string | undefined> {
  const key = await signingKey(keys);
  if (!key) return undefined;
  const header = base64UrlEncode(JSON.stringify({ typ: "JWT", alg: "ES256" }));
  const body = base64UrlEncode(JSON.stringify({ aud: claims.audience, exp: claims.nowSec + (claims.lifetimeSec ?? VAPID_JWT_LIFETIME_SEC), sub: claims.subject }));
  // Web Crypto's ECDSA signature is r || s (64 bytes): exactly JWS's ES256 form (RFC 7518 3.4).
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(`${header}.${body}`)));
  return `vapid t=${header}.${body}.${base64UrlEncode(signature)}, k=${keys.publicKey}`;
}
