/**
 * HS256 JSON Web Tokens, as Kaleyra's access tokens and tenants' attach tickets are: signing and
 * signature checks go through hono/jwt (a kept library, already the Worker's router); this module
 * keeps the project's call shapes and answers (a reason instead of an exception), plus the
 * base64url helpers the resume credentials use.
 * Invariants: verification compares the signature with crypto.subtle.verify (constant time, inside
 * hono/jwt); only alg HS256 is accepted; claims (exp, nbf, iat) are the caller's to check;
 * nothing here throws on untrusted input.
 */
import { sign, verify } from "hono/jwt";
import { JwtTokenSignatureMismatched } from "hono/utils/jwt/types";


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
  return sign(claims, secret, "HS256");
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

/** The signature only: exp, nbf and iat are left to the caller, which knows its own clock. */
export async function verifyHs256(token: string, secret: string): Promise<VerifyResult> {
  const decoded = decodeJwt(token);
  if (!decoded) return { ok: false, reason: "malformed" };
  if (decoded.header.alg !== "HS256") return { ok: false, reason: "unsupported_alg" };
  try {
    await verify(token, secret, { alg: "HS256", exp: false, nbf: false, iat: false });
    return { ok: true, header: decoded.header, claims: decoded.claims };
  } catch (err) {
    return { ok: false, reason: err instanceof JwtTokenSignatureMismatched ? "bad_signature" : "malformed" };
  }
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

/** A token's `exp` in ms: a tenant can read it, not verify it (the signing key is Kaleyra's). */
export function jwtExpiryMs(token: string): number | undefined {
  const exp = decodeJwt(token)?.claims.exp;
  return typeof exp === "number" && Number.isFinite(exp) && exp > 0 ? exp * 1_000 : undefined;
}

/**
 * The user a Kaleyra access token names (claims `user` and `sub: "<user>#<companyId>"`), read
 * without verifying it; undefined when it names none, or two.
 */
export function jwtUserId(token: string): string | undefined {
  const claims = decodeJwt(token)?.claims;
  const user = claims?.user;
  if (typeof user !== "string" || user.length === 0) return undefined;
  const sub = claims?.sub;
  return sub === undefined || (typeof sub === "string" && sub.startsWith(`${user}#`)) ? user : undefined;
}
