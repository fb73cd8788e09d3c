/**
 * The browser's half of Web Push encryption, for the local push service (dev/push-service.ts):
 * a subscription's keys, and the decryption of an `aes128gcm` push message (RFC 8291 section 3,
 * RFC 8188 section 2), written from the RFCs with Web Crypto's own HKDF, so it shares no code with
 * the sender or its library. dev/push-decrypt.test.ts checks it against RFC 8291 Appendix A.
 */

export interface UserAgentKeys {
  /** The subscription's ECDH private key (the browser keeps it). */
  privateKey: CryptoKey;
  /** ua_public: the 65-byte uncompressed point, the subscription's `p256dh`. */
  publicKey: Uint8Array;
  /** The 16-byte `auth` secret. */
  authSecret: Uint8Array;
}

const encoder = new TextEncoder();
const HEADER_FIXED_BYTES = 21; // salt (16) + rs (4) + idlen (1)
const TAG_BYTES = 16;

export function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function newUserAgentKeys(): Promise<UserAgentKeys> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return { privateKey: pair.privateKey, publicKey, authSecret: crypto.getRandomValues(new Uint8Array(16)) };
}

/** Keys given as the RFC's test vector gives them: the private scalar and the public point. */
export async function importUserAgentKeys(privateScalar: Uint8Array, publicKey: Uint8Array, authSecret: Uint8Array): Promise<UserAgentKeys> {
  const jwk: JsonWebKey = { kty: "EC", crv: "P-256", d: base64Url(privateScalar), x: base64Url(publicKey.slice(1, 33)), y: base64Url(publicKey.slice(33, 65)) };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  return { privateKey, publicKey, authSecret };
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array | ArrayBuffer, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * The plaintext of one aes128gcm push message, or undefined when it is not one this subscription
 * can read. A push message is a single record (RFC 8291 section 4): its padding delimiter is 0x02.
 */
export async function decryptPushMessage(body: Uint8Array, ua: UserAgentKeys): Promise<Uint8Array | undefined> {
  try {
    if (body.length < HEADER_FIXED_BYTES) return undefined;
    const salt = body.slice(0, 16);
    const rs = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
    const idlen = body[20]!;
    // keyid is the application server's ephemeral public key, a 65-byte point (RFC 8291 section 4).
    if (idlen !== 65) return undefined;
    const asPublic = body.slice(HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + idlen);
    const record = body.slice(HEADER_FIXED_BYTES + idlen);
    if (rs < 18 || record.length > rs || record.length < TAG_BYTES + 1) return undefined;
    const asKey = await crypto.subtle.importKey("raw", asPublic, { name: "ECDH", namedCurve: "P-256" }, false, []);
    // workers-types spell the member `$public` (a C++ binding name); the runtime reads `public`, as the standard says.
    const ecdh = { name: "ECDH", public: asKey } as unknown as SubtleCryptoDeriveKeyAlgorithm;
    const ecdhSecret = await crypto.subtle.deriveBits(ecdh, ua.privateKey, 256);
    // RFC 8291 3.4: IKM = HKDF(salt = auth_secret, ikm = ecdh_secret, info = "WebPush: info\0" || ua_public || as_public, 32).
    const ikm = await hkdf(ua.authSecret, ecdhSecret, concat(encoder.encode("WebPush: info\0"), ua.publicKey, asPublic), 32);
    // RFC 8188 2.2/2.3: CEK and NONCE from HKDF(salt, IKM) with their content-coding infos.
    const cek = await hkdf(salt, ikm, encoder.encode("Content-Encoding: aes128gcm\0"), 16);
    const nonce = await hkdf(salt, ikm, encoder.encode("Content-Encoding: nonce\0"), 12);
    const aesKey = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
    const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aesKey, record));
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    return end >= 0 && padded[end] === 0x02 ? padded.slice(0, end) : undefined;
  } catch {
    return undefined;
  }
}
