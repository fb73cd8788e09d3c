/**
 * The edge cache of app settings: an in-isolate map in front of each app's AppState, so an attach
 * usually costs no call at all (docs/architecture.md, "App settings at the edge").
 * Invariants:
 * - An entry (the record, or "no such app") is served for at most APP_CACHE_TTL_MS after its load
 *   started: a change made elsewhere (another isolate, another location) reaches this isolate
 *   within that bound, so a removed app stops attaching within it.
 * - A write through worker/registry.ts drops the entry of this isolate at once.
 * - Concurrent misses for one app share one load; a failed load is not cached.
 * - Bounded: past MAX_ENTRIES the map is cleared (a flood of made-up appIds costs loads, not memory).
 */
import type { AppRecord } from "../durable-objects/AppRegistry";

export const APP_CACHE_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

/** The cache's clock; replaced only by tests. */
export const appCacheClock = { now: (): number => Date.now() };

const entries = new Map<string, { loadedAt: number; record: Promise<AppRecord | null> }>();

export function cachedApp(appId: string, load: (appId: string) => Promise<AppRecord | null>): Promise<AppRecord | null> {
  const now = appCacheClock.now();
  const entry = entries.get(appId);
  if (entry !== undefined && now - entry.loadedAt < APP_CACHE_TTL_MS) return entry.record;
  if (entries.size >= MAX_ENTRIES) entries.clear();
  const record = load(appId);
  const fresh = { loadedAt: now, record };
  entries.set(appId, fresh);
  record.catch(() => {
    if (entries.get(appId) === fresh) entries.delete(appId);
  });
  return record;
}

export function forgetCachedApp(appId: string): void {
  entries.delete(appId);
}
