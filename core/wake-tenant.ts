/**
 * The tenant API's wake (`POST /v1/tenant/apps/:appId/users/:userId/wake`, issue 21): a small
 * payload for chat and other app events, checked here. Everything in it is bounded so the Web Push
 * payload stays under MAX_PUSH_PAYLOAD_BYTES (core/wake.ts) whatever the tenant sends.
 * Invariant: a wake never carries a token or an access link. The tenant owns its texts, but a
 * string shaped like a JWT or like a Kaleyra access link is refused (`bad_request`, the field
 * named), so a mistake in a tenant's backend does not push a credential to a lock screen.
 */
import { kaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";
import type { TenantWake } from "./wake";

export const TENANT_WAKE_LIMITS = {
  eventName: 64,
  id: 128,
  title: 80,
  body: 240,
  /** The `data` object as JSON, in UTF-8 bytes. */
  dataBytes: 1_024,
  maxTtlSec: 86_400,
};

/**
 * The tenant's room index (`PUT .../rooms/:roomId/users`): Kaleyra's v0 on_call_incoming names only
 * the room, so the tenant, who created the room, says which users it calls. Kaleyra's rooms take
 * 2..25 participants; a day covers a room made ahead of a scheduled call; an app keeps at most
 * maxRooms rooms (the oldest go first).
 */
export const ROOM_USER_LIMITS = { maxUsers: 25, ttlMs: 86_400_000, maxRooms: 10_000 } as const;

const EVENT_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const ID_PATTERN = /^[A-Za-z0-9_.:@-]+$/;
/** A compact JWS/JWT: a base64url JSON header ("eyJ" is `{"`), a payload and a signature. */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;
/** Kaleyra's access-link paths (KALEYRA-FACTS.md "Access links"). */
const ACCESS_LINK_SHAPE = /\/(direct-)?rest-call-handler\/|\/conference\//i;

/** True when some string in the value looks like a token or an access link. */
export function carriesCredential(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return JWT_SHAPE.test(value) || ACCESS_LINK_SHAPE.test(value);
  if (depth > 8 || typeof value !== "object" || value === null) return false;
  return Object.entries(value).some(([k, v]) => carriesCredential(k, depth + 1) || carriesCredential(v, depth + 1));
}

const bad = (field: string) => fail<TenantWake>(kaleyraError("bad_request", field));

function text(v: unknown, max: number): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= max;
}

/** The body of a tenant wake. Unknown keys are refused. */
export function parseTenantWake(input: unknown): Result<TenantWake> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return bad("body");
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !["event", "id", "title", "body", "data", "ttl", "urgency"].includes(k));
  if (extra !== undefined) return bad(extra);
  if (!text(o.event, TENANT_WAKE_LIMITS.eventName) || !EVENT_PATTERN.test(o.event)) return bad("event");
  const wake: TenantWake = { event: o.event };
  if (o.id !== undefined) {
    if (!text(o.id, TENANT_WAKE_LIMITS.id) || !ID_PATTERN.test(o.id)) return bad("id");
    wake.id = o.id;
  }
  for (const field of ["title", "body"] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (!text(v, TENANT_WAKE_LIMITS[field]) || carriesCredential(v)) return bad(field);
    wake[field] = v;
  }
  if (o.data !== undefined) {
    const data = o.data;
    if (typeof data !== "object" || data === null || Array.isArray(data)) return bad("data");
    if (new TextEncoder().encode(JSON.stringify(data)).length > TENANT_WAKE_LIMITS.dataBytes || carriesCredential(data)) return bad("data");
    wake.data = data as Record<string, unknown>;
  }
  if (o.ttl !== undefined) {
    const ttl = o.ttl;
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0 || ttl > TENANT_WAKE_LIMITS.maxTtlSec) return bad("ttl");
    wake.ttlSec = ttl;
  }
  if (o.urgency !== undefined) {
    if (o.urgency !== "low" && o.urgency !== "normal" && o.urgency !== "high") return bad("urgency");
    wake.urgency = o.urgency;
  }
  return ok(wake);
}
