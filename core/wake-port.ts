/**
 * The port a session wakes a closed app through (issue 21, docs/push.md): a Web Push message to one
 * browser's subscription, or the signed wake webhook to the tenant's backend. remote/push/ implements
 * it for production; a composition root gives it to UserSession (worker/index.ts, dev/index.ts, whose
 * local push service is reached in process, and test/worker.ts).
 * Adapters answer a DeliveryOutcome and never throw; the session re-checks nothing they decide.
 */
import type { VapidKeyPair } from "./app";
import type { PushSubscriptionJson } from "./push-subscription";
import type { DeliveryOutcome, PushUrgency, WakePayload } from "./wake";

export interface WebPushDelivery {
  subscription: PushSubscriptionJson;
  /** The payload's JSON text (core/wake.ts pushNotificationPayload). */
  payload: string;
  vapid: VapidKeyPair;
  /** The VAPID `sub`: the app's wake.webPush.contact. */
  contact: string;
  ttlSec: number;
  urgency: PushUrgency;
  /** The wake's key: the Topic is derived from it (a digest: the push service learns no call id). */
  topicKey?: string;
  /** The local composition's ALLOW_LOCAL_WEBHOOKS: an endpoint on loopback may be called. */
  allowLocal: boolean;
}

export interface WakeWebhookDelivery {
  url: string;
  /** The app's wakeWebhookSecret. */
  secret: string;
  wake: WakePayload;
  allowLocal: boolean;
}

export interface WakeSender {
  webPush(delivery: WebPushDelivery): Promise<DeliveryOutcome>;
  webhook(delivery: WakeWebhookDelivery): Promise<DeliveryOutcome>;
}
