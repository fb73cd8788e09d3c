/**
 * The production wake sender (core/wake-port.ts): Web Push (web-push.ts) and the tenant's wake
 * webhook (wake-webhook.ts) over the Worker's fetch. A composition may pass another fetch: the local
 * one reaches its push service in process (dev/local-push.ts).
 */
import type { WakeSender } from "../../core/wake-port";
import { sendWakeWebhook } from "./wake-webhook";
import { pushTopic, sendWebPush } from "./web-push";

export function wakeSender(fetch: (request: Request) => Promise<Response> = (request) => globalThis.fetch(request)): WakeSender {
  const deps = { fetch, nowSec: () => Date.now() / 1_000 };
  return {
    async webPush({ subscription, payload, vapid, contact, ttlSec, urgency, topicKey, allowLocal }) {
      const topic = topicKey === undefined ? undefined : await pushTopic(topicKey);
      return sendWebPush({ subscription, payload, vapid, contact, ttlSec, urgency, allowLocal, ...(topic !== undefined && { topic }) }, deps);
    },
    webhook: ({ url, secret, wake, allowLocal }) => sendWakeWebhook({ url, secret, wake, allowLocal }, deps),
  };
}
