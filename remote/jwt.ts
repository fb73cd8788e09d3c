/**
 * HS256 JSON Web Tokens with WebCrypto, as Kaleyra's access tokens are. Used by the emulator to
 * mint and check tokens, and by tests to verify them.
 * Invariants: verification compares the signature with crypto.subtle.verify (constant time);
 * nothing here throws on untrusted input, it answers with a reason.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function base64UrlEncode(input: Uint8Array | string): string {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function hexEncode(bytes: Uint8Array | ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Undefined when the text is not base64url (padding is not allowed). */
export function base64UrlDecode(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  try {
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

export async function hmacSha256Key(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

export type JwtClaims = Record<string, unknown>;

export async function signHs256(claims: JwtClaims, secret: string): Promise<string> {
  const signingInput = `${base64UrlEncode(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64UrlEncode(JSON.stringify(claims))}`;
  const key = await hmacSha256Key(secret, "sign");
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(signingInput)));
  return `${signingInput}.${base64UrlEncode(signature)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: JwtClaims;
  signingInput: string;
  signature: Uint8Array;
}

/** Splits and parses a compact JWS without checking its signature. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  if (token.length > 8_192) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [h = "", c = "", s = ""] = parts;
  const header = parseJsonObject(base64UrlDecode(h));
  const claims = parseJsonObject(base64UrlDecode(c));
  const signature = base64UrlDecode(s);
  if (!header || !claims || !signature) return undefined;
  return { header, claims, signingInput: `${h}.${c}`, signature };
}

export type VerifyResult =
  | { ok: true; header: Record<string, unknown>; claims: JwtClaims }
  | { ok: false; reason: "malformed" | "unsupported_alg" | "bad_signature" };

export async function verifyHs256(token: string, secret: string): Promise<VerifyResult> {
  const decoded = decodeJwt(token);
  if (!decoded) return { ok: false, reason: "malformed" };
  if (decoded.header.alg !== "HS256") return { ok: false, reason: "unsupported_alg" };
  const key = await hmacSha256Key(secret, "verify");
  const valid = await crypto.subtle.verify("HMAC", key, decoded.signature, encoder.encode(decoded.signingInput));
  return valid ? { ok: true, header: decoded.header, claims: decoded.claims } : { ok: false, reason: "bad_signature" };
}

function parseJsonObject(bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
