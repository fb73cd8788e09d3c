/**
 * Kaleyra's webhook payloads, parsed (pure; docs/remote.md "Webhooks the receiver handles").
 * v1: `{ event, event_version: "1.0", namespace, timestamp, data }`, signed with `bandyer-signature`.
 * v0: `{ event, data: { room_id } }` (or `room_id` at the top), signed with `room-id-hmac` over the
 * room id alone.
 * Invariants: a parse never throws; only the fields an action uses are required; an event we do
 * not act on is ignored whatever else its body holds (Kaleyra sends many: recording, chat, ...).
 */
import { isObject } from "./object";

/** The events after which no call runs in the room any more: its access-link sessions end. */
const CALL_OVER_EVENTS = ["on_session_ended", "on_room_disabled", "on_room_deleted"] as const;
/** The v0 event with the same meaning (v0 only). */
const V0_CALL_ENDED = "on_call_ended";
/** v0 only: a call rings in the room; its users (as the tenant said, docs/push.md) may be woken. */
const V0_CALL_INCOMING = "on_call_incoming";
/** The only v1 payload version we know; a known event in another version is refused, not guessed. */
const V1_EVENT_VERSION = "1.0";
const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_EVENT_LENGTH = 64;

export type KaleyraWebhook = { action: "end_room_calls" | "wake_room_users"; event: string; roomId: string } | { action: "ignore"; event: string };
export type ParsedWebhook = { ok: true; webhook: KaleyraWebhook } | { ok: false; field: string };

function jsonObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isEventName(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_EVENT_LENGTH;
}

function isRoomId(v: unknown): v is string {
  return typeof v === "string" && ROOM_ID_PATTERN.test(v);
}

function dataOf(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const { data } = body;
  return isObject(data) ? data : undefined;
}

/** A v1 delivery's body (its signature already verified). */
export function parseV1Webhook(raw: string): ParsedWebhook {
  const body = jsonObject(raw);
  if (!body) return { ok: false, field: "body" };
  const { event } = body;
  if (!isEventName(event)) return { ok: false, field: "event" };
  if (!(CALL_OVER_EVENTS as readonly string[]).includes(event)) return { ok: true, webhook: { action: "ignore", event } };
  if (body.event_version !== V1_EVENT_VERSION) return { ok: false, field: "event_version" };
  const roomId = dataOf(body)?.room_id;
  if (!isRoomId(roomId)) return { ok: false, field: "data.room_id" };
  return { ok: true, webhook: { action: "end_room_calls", event, roomId } };
}

/**
 * A v0 delivery's event and room id, read before its signature can be checked (the MAC covers the
 * room id only). Undefined when the body has no usable event or room id: nothing is authenticated.
 */
export function parseV0Webhook(raw: string): { webhook: KaleyraWebhook; roomId: string } | undefined {
  const body = jsonObject(raw);
  if (!body || !isEventName(body.event)) return undefined;
  const inData = dataOf(body)?.room_id;
  const atTop = body.room_id;
  // Two different room ids: which one the MAC covers would be our guess.
  if (inData !== undefined && atTop !== undefined && inData !== atTop) return undefined;
  const roomId = inData ?? atTop;
  if (!isRoomId(roomId)) return undefined;
  const event = body.event;
  if (event === V0_CALL_ENDED) return { roomId, webhook: { action: "end_room_calls", event, roomId } };
  return { roomId, webhook: event === V0_CALL_INCOMING ? { action: "wake_room_users", event, roomId } : { action: "ignore", event } };
}
