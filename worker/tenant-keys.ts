/**
 * Tenant API keys: `kte_<id>_<secret>`, where id is 12 hex digits (names the key in the admin
 * API, not secret) and secret is 32 random bytes in base64url. Only SHA-256(key) is stored (in the
 * app's AppState); the key is shown once, by the admin API that creates it.
 * Invariant: a key reaches only the app whose AppState holds its hash.
 */
import { base64UrlEncode, hexEncode } from "../crypto/jwt";

export const TENANT_KEY_PATTERN = /^kte_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;

export async function hashTenantKey(key: string): Promise<string> {
  return hexEncode(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
}

export async function newTenantKey(): Promise<{ id: string; key: string; hash: string }> {
  const id = hexEncode(crypto.getRandomValues(new Uint8Array(6)));
  const key = `kte_${id}_${base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { id, key, hash: await hashTenantKey(key) };
}
