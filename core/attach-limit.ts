/**
 * The per-client attach limit's rules: which key an address is counted under, and a bounded
 * table of one-minute windows. Pure: the caller passes the time.
 * Invariants:
 * - An IPv6 address counts by its /64 (one subscriber's network, where a host can take any of
 *   2^64 addresses); an IPv4-mapped IPv6 address counts as its IPv4 address.
 * - The table holds at most `maxKeys` keys: a new key past that evicts the key whose window
 *   started first (the nearest to expiry), never the whole table, so filling it with fresh
 *   addresses does not reset anyone else's count.
 */
import { ipv4Number, ipv6Groups } from "./ip";

export const ATTACH_WINDOW_MS = 60_000;
const MAX_ATTACH_KEYS = 10_000;

/** The key a client address is counted under (anything that is not an address counts as itself). */
export function attachKey(address: string): string {
  const text = address.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (ipv4Number(text) !== undefined) return text;
  const g = ipv6Groups(text);
  if (g === undefined) return text;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6]! >>> 8}.${g[6]! & 0xff}.${g[7]! >>> 8}.${g[7]! & 0xff}`;
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(":")}::/64`;
}

export class AttachLimiter {
  /** In the order each window started (a renewed window moves to the end). */
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly maxKeys = MAX_ATTACH_KEYS) {}

  /** Counts one attempt of `key`; false when it is over `limit` in its current window. */
  allow(key: string, now: number, limit: number): boolean {
    const w = this.windows.get(key);
    if (w && now - w.start < ATTACH_WINDOW_MS) {
      w.count += 1;
      return w.count <= limit;
    }
    this.windows.delete(key);
    this.windows.set(key, { start: now, count: 1 });
    if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    return 1 <= limit;
  }

  get size(): number {
    return this.windows.size;
  }
}
