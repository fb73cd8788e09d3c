/**
 * The cost model of a connected user (docs/performance.md "What a connected user costs"): measured
 * object-seconds, requests and rows written per user-hour, priced at Cloudflare's published
 * Durable Objects prices. Pure arithmetic; every input is in the results beside the answer.
 */

/**
 * Prices used (USD), as given in issue 22 and on Cloudflare's Durable Objects pricing page (Workers
 * Paid), as known on PRICES.date; not re-checked online (this machine has no network):
 * - duration: $12.50 per million GB-s, every object billed at 128 MB, while it runs or is idle but
 *   cannot hibernate ("Durable Objects that are idle and eligible for hibernation are not billed
 *   for duration, even before the runtime has hibernated them");
 * - requests: $0.15 per million; RPC calls and alarms count as requests; incoming WebSocket
 *   messages count 20 to 1;
 * - SQLite storage: $1.00 per million rows written (a kv put, a delete or a setAlarm is one row).
 * The included monthly allowances are left out: the model prices the margin.
 */
export const PRICES = {
  date: "2026-12-06",
  usdPerMillionGbSeconds: 12.5,
  gbPerObject: 0.125,
  usdPerMillionRequests: 0.15,
  usdPerMillionRowsWritten: 1.0,
  webSocketMessagesPerRequest: 20,
};

export const HOURS_PER_MONTH = 730;

/** USD per user-month from per-user-hour figures, with the share of each term. */
export function costPerUserMonth({ billableSeconds, requests, rowsWritten }) {
  const h = HOURS_PER_MONTH;
  const duration = (billableSeconds * h * PRICES.gbPerObject * PRICES.usdPerMillionGbSeconds) / 1e6;
  const req = (requests * h * PRICES.usdPerMillionRequests) / 1e6;
  const rows = (rowsWritten * h * PRICES.usdPerMillionRowsWritten) / 1e6;
  return { usd: duration + req + rows, durationUsd: duration, requestsUsd: req, rowsUsd: rows };
}
