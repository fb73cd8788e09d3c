/**
 * The signed wake webhook (issue 21): native push through the tenant. When a user with no client open
 * is to be woken, the session POSTs the wake to the tenant's backend, which sends its own
 * notification (FCM for its Android app, say). Same rules as the token webhook
 * (durable-objects/server-tokens.ts): header `kaleyra-edge-signature: t=<unix seconds>,v0=<hex HMAC-SHA256
 * over "<t>.<raw body>">` made by crypto/signature.ts's signWebhook with the app's secret; the URL
 * checked again before every call (core/webhook-url.ts); redirects not followed; the answer's body
 * not read (only its status counts, so its size is bounded at zero).
 * Body: JSON `{ appId, userId, reason, event }` (core/wake.ts wakeWebhookBody), nothing else: no
 * token, no link. Answer 2xx: done; 429/5xx (Retry-After honoured) or no answer: retried on the
 * session's alarm (core/wake.ts afterDelivery); anything else: refused, not retried.
 * Never throws; never logs the secret or the body.
 */
import { isWebhookUrl } from "../../core/webhook-url";
import { wakeWebhookBody, type DeliveryOutcome, type WakePayload } from "../../core/wake";
import { EDGE_SIGNATURE_HEADER, signWebhook } from "../../crypto/signature";
import { outcomeOf } from "./web-push";

/** The same header as the token webhook: a tenant verifies both with one function. */
export const WAKE_WEBHOOK_SIGNATURE_HEADER = EDGE_SIGNATURE_HEADER;
const DEFAULT_WAKE_WEBHOOK_TIMEOUT_MS = 10_000;

export interface WakeWebhookRequest {
  url: string;
  /** The app's write-only secret that signs the wake webhook. */
  secret: string;
  wake: WakePayload;
  /** The local composition's ALLOW_LOCAL_WEBHOOKS: a webhook on loopback may be called. */
  allowLocal?: boolean;
  timeoutMs?: number;
}

export interface WakeWebhookDeps {
  fetch: (request: Request) => Promise<Response>;
  nowSec: () => number;
}

export async function sendWakeWebhook(req: WakeWebhookRequest, deps: WakeWebhookDeps): Promise<DeliveryOutcome> {
  if (!isWebhookUrl(req.url, req.allowLocal === true)) return { kind: "refused", status: 0, reason: "wake webhook URL is not allowed (https to a public host only)" };
  const body = wakeWebhookBody(req.wake);
  const nowSec = Math.floor(deps.nowSec());
  let response: Response;
  try {
    const signature = await signWebhook(req.secret, body, nowSec);
    response = await deps.fetch(
      new Request(req.url, {
        method: "POST",
        headers: { "content-type": "application/json", [WAKE_WEBHOOK_SIGNATURE_HEADER]: signature },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(req.timeoutMs ?? DEFAULT_WAKE_WEBHOOK_TIMEOUT_MS),
      }),
    );
  } catch {
    return { kind: "retry", status: 0 };
  }
  await response.body?.cancel().catch(() => undefined);
  const outcome = outcomeOf(response, nowSec, "the wake webhook");
  // A tenant's 404/410 means its route is wrong, not that a subscription is gone: nothing to remove.
  return outcome.kind === "gone" ? { kind: "refused", status: outcome.status, reason: `the wake webhook answered ${outcome.status}` } : outcome;
}
