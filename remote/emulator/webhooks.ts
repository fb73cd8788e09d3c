/**
 * Signed webhooks from the emulated Kaleyra to the URL configured per app.
 * Body: `{ event, app_id, data, created_at }`; header `bandyer-signature` (see ../signature.ts).
 * Invariant: every webhook is recorded in the outbox before delivery is attempted, and settled
 * (status or error) when delivery ends; with no URL configured it is recorded as not delivered.
 */
import { SIGNATURE_HEADER, signWebhook } from "../signature";
import type { AppRow, EmulatorStore, OutboxRow } from "./store";

export type WebhookEvent = "on_room_ended" | "on_user_deactivated";
export const DELIVERY_TIMEOUT_MS = 10_000;
export const NO_WEBHOOK_URL = "no_webhook_url";

export interface WebhookSender {
  store: EmulatorStore;
  now(): number;
  deliver(request: Request): Promise<Response>;
}

export async function sendWebhook(sender: WebhookSender, app: AppRow, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
  const now = sender.now();
  const body = JSON.stringify({ event, app_id: app.app_id, data, created_at: new Date(now).toISOString() });
  const headers = {
    "content-type": "application/json",
    "user-agent": "kaleyra-emulator",
    [SIGNATURE_HEADER]: await signWebhook(app.api_key, body, Math.floor(now / 1000)),
  };
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
