/**
 * Kaleyra's webhook signature: header `bandyer-signature: t=<unix seconds>,v0=<hex>` where the hex
 * is HMAC-SHA256, keyed with the app's API key, over the exact string `<t>.<raw body>`.
 * The emulator signs with it; a receiver (and the tests) verify with it.
 * Kaleyra's older v0 webhooks carry `room-id-hmac: <hex HMAC-SHA256 of the room id, keyed with the
 * API key>` instead: no timestamp, and nothing but the room id is signed.
 * Kaleyra's docs mix seconds and milliseconds for `t`: it is opaque text in the MAC, and either
 * unit passes the freshness check.
 * Invariant: verification compares in constant time (crypto.subtle.verify) and never throws.
 */
import { hexEncode, hmacSha256Key } from "./jwt";

export const SIGNATURE_HEADER = "bandyer-signature";
export const ROOM_ID_HMAC_HEADER = "room-id-hmac";
/** kaleyra-edge's own webhooks to a tenant (token requests, wakes): the same scheme, keyed with the app's secret. */
export const EDGE_SIGNATURE_HEADER = "kaleyra-edge-signature";
/** A receiver refuses signatures older or newer than this, against replay. */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

const encoder = new TextEncoder();

function signedPayload(timestamp: number | string, rawBody: string): string {
  return `${timestamp}.${rawBody}`;
}

/** The header value for this body at this time (unix seconds). */
export async function signWebhook(apiKey: string, rawBody: string, timestampSec: number): Promise<string> {
  const key = await hmacSha256Key(apiKey, "sign");
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(signedPayload(timestampSec, rawBody))));
  return `t=${timestampSec},v0=${hexEncode(mac)}`;
}

export function parseSignatureHeader(header: string): { t: string; v0: string[] } | undefined {
  let t: string | undefined;
  const v0: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return undefined;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === "t") {
      if (!/^\d{1,13}$/.test(value) || t !== undefined) return undefined;
      t = value;
    } else if (name === "v0") {
      if (!/^[0-9a-f]{64}$/.test(value)) return undefined;
      v0.push(value);
    }
  }
  return t === undefined || v0.length === 0 ? undefined : { t, v0 };
}

/**
 * On success, `delivery` names the delivery by what was signed (timestamp text and the matching
 * MAC), so a replay is recognised however the header is spelled (spaces, order, repeated parts).
 */
export type SignatureCheck = { ok: true; timestampSec: number; delivery: string } | { ok: false; reason: "malformed" | "stale" | "mismatch" };

/** Seconds since the epoch from a `t` in seconds or milliseconds. */
function timestampSeconds(t: string): number {
  const n = Number(t);
  return n >= 1e11 ? Math.floor(n / 1_000) : n;
}

export async function verifyWebhookSignature(
  apiKey: string,
  header: string | null,
  rawBody: string,
  options: { nowSec: number; toleranceSec?: number },
): Promise<SignatureCheck> {
  const parsed = header === null ? undefined : parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: "malformed" };
  // The MAC first: only a holder of the key learns that a timestamp is stale, so the answer to a
  // forgery never depends on whether the app (its key) exists.
  const key = await hmacSha256Key(apiKey, "verify");
  const data = encoder.encode(signedPayload(parsed.t, rawBody));
  let matched: string | undefined;
  for (const hex of parsed.v0) {
    if (await crypto.subtle.verify("HMAC", key, fromHex(hex), data)) {
      matched = hex;
      break;
    }
  }
  if (matched === undefined) return { ok: false, reason: "mismatch" };
  const timestampSec = timestampSeconds(parsed.t);
  if (Math.abs(options.nowSec - timestampSec) > (options.toleranceSec ?? DEFAULT_SIGNATURE_TOLERANCE_SEC)) return { ok: false, reason: "stale" };
  return { ok: true, timestampSec, delivery: `${parsed.t}.${matched}` };
}

/** The v0 `room-id-hmac` header value for this room. */
export async function signRoomId(apiKey: string, roomId: string): Promise<string> {
  const key = await hmacSha256Key(apiKey, "sign");
  return hexEncode(await crypto.subtle.sign("HMAC", key, encoder.encode(roomId)));
}

/**
 * Checks a v0 `room-id-hmac` (hex, either case) in constant time. On success `mac` is the lowercase
 * hex, so one delivery has one name however its case was spelled.
 */
export async function verifyRoomIdHmac(apiKey: string, header: string | null, roomId: string): Promise<{ ok: true; mac: string } | { ok: false; reason: "malformed" | "mismatch" }> {
  const mac = header?.trim().toLowerCase();
  if (mac === undefined || !/^[0-9a-f]{64}$/.test(mac)) return { ok: false, reason: "malformed" };
  const key = await hmacSha256Key(apiKey, "verify");
  return (await crypto.subtle.verify("HMAC", key, fromHex(mac), encoder.encode(roomId))) ? { ok: true, mac } : { ok: false, reason: "mismatch" };
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
