/**
 * Signed webhooks from the emulated Kaleyra to the URL configured per app, with Kaleyra's names.
 * v1 body: `{ event, event_version: "1.0", namespace: "room", timestamp: <unix ms>, data }`, header
 * `bandyer-signature: t=<unix seconds>,v0=<hex>` (see ../signature.ts). `on_call_ended` exists only
 * in Kaleyra's v0: body `{ event, data: { room_id } }`, header `room-id-hmac` (HMAC of the room id).
 * Invariant: every webhook is recorded in the outbox before delivery is attempted, and settled
 * (status or error) when delivery ends; with no URL configured it is recorded as not delivered.
 */
import { ROOM_ID_HMAC_HEADER, SIGNATURE_HEADER, signRoomId, signWebhook } from "../../crypto/signature";
import type { AppRow, EmulatorStore, OutboxRow } from "./store";

export type WebhookEvent = "on_session_ended" | "on_room_disabled" | "on_room_deleted" | typeof V0_CALL_ENDED | typeof V0_CALL_INCOMING;
export const V0_CALL_ENDED = "on_call_ended";
/** v0 only, like on_call_ended: a call rings in the room (body `{ event, data: { room_id } }`). */
export const V0_CALL_INCOMING = "on_call_incoming";
/** Kaleyra's example payload (on_room_deleted) has namespace "room"; we use it for every room event. */
const WEBHOOK_NAMESPACE = "room";
const DELIVERY_TIMEOUT_MS = 10_000;
const NO_WEBHOOK_URL = "no_webhook_url";

export interface WebhookSender {
  store: EmulatorStore;
  now(): number;
  deliver(request: Request): Promise<Response>;
}

export async function sendWebhook(sender: WebhookSender, app: AppRow, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
  const now = sender.now();
  let body: string;
  let signature: Record<string, string>;
  if (event === V0_CALL_ENDED || event === V0_CALL_INCOMING) {
    body = JSON.stringify({ event, data });
    signature = { [ROOM_ID_HMAC_HEADER]: await signRoomId(app.api_key, String(data.room_id)) };
  } else {
    body = JSON.stringify({ event, event_version: "1.0", namespace: WEBHOOK_NAMESPACE, timestamp: now, data });
    // t in seconds: Kaleyra's docs show both units; receivers must take both (../signature.ts).
    signature = { [SIGNATURE_HEADER]: await signWebhook(app.api_key, body, Math.floor(now / 1000)) };
  }
  const headers = { "content-type": "application/json", "user-agent": "kaleyra-emulator", ...signature };
  const url = app.webhook_url;
  const id = sender.store.addOutbox({
    app_id: app.app_id,
    event,
    url,
    headers: JSON.stringify(headers),
    body,
    status: null,
    error: url === null ? NO_WEBHOOK_URL : null,
    created_at: now,
  });
  if (url === null) return;
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DELIVERY_TIMEOUT_MS} ms`)), DELIVERY_TIMEOUT_MS);
    });
    const response = await Promise.race([sender.deliver(new Request(url, { method: "POST", headers, body })), timeout]);
    await response.body?.cancel();
    sender.store.settleOutbox(id, response.status, null);
  } catch (err) {
    sender.store.settleOutbox(id, null, String(err).slice(0, 500));
  } finally {
    clearTimeout(timer);
  }
}

/** The outbox as the control API shows it. */
export function outboxJson(row: OutboxRow) {
  return {
    id: row.id,
    appId: row.app_id,
    event: row.event,
    url: row.url,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    status: row.status,
    error: row.error,
    createdAt: row.created_at,
  };
}
