/**
 * Pushes per second one sender sustains against the local push service, in process (issue 21's
 * bench, its sending half): each push is encrypted, signed, POSTed, then checked and decrypted by
 * the service, so the rate counts both sides' Web Crypto work. `concurrency` sends run at a time.
 */
import { generateVapidKeys } from "../crypto/vapid";
import { sendWebPush } from "../remote/push/web-push";
import { LocalPushService } from "./push-service";

export interface PushBenchResult {
  sent: number;
  delivered: number;
  ms: number;
  perSecond: number;
  /** Milliseconds per push, from its start to the service's answer. */
  p50: number;
  p99: number;
}

export async function benchPushes(count: number, concurrency = 8, now: () => number = () => performance.now()): Promise<PushBenchResult> {
  const service = new LocalPushService("https://push.example.net");
  const vapid = await generateVapidKeys();
  const subscription = await service.subscribe(vapid.publicKey);
  const deps = { fetch: (r: Request) => service.handle(r), nowSec: () => Math.floor(Date.now() / 1_000) };
  const payload = JSON.stringify({ v: 1, type: "kaleyra_wake", appId: "mAppId_bench", userId: "u", reason: "kaleyra_event", event: { name: "call:incoming" } });
  const latencies: number[] = [];
  let next = 0;
  let delivered = 0;
  const start = now();
  const worker = async () => {
    while (next < count) {
      next++;
      const t0 = now();
      const outcome = await sendWebPush({ subscription, payload, vapid, contact: "mailto:bench@example.com", ttlSec: 60, urgency: "high" }, deps);
      latencies.push(now() - t0);
      if (outcome.kind === "ok") delivered++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const ms = now() - start;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { sent: count, delivered, ms, perSecond: ms > 0 ? (count * 1_000) / ms : 0, p50: at(0.5), p99: at(0.99) };
}
