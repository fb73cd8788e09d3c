/**
 * The edge cache of app settings and secrets: in-isolate maps in front of each app's AppState, so
 * an attach (the Worker's lookup, the session's ticket check) usually costs no call at all
 * (docs/architecture.md, "App settings at the edge").
 * Invariants:
 * - An entry (the value, or "no such app") is served for at most APP_CACHE_TTL_MS after its load
 *   started: a change made elsewhere (another isolate, another location) reaches this isolate
 *   within that bound, so a removed app stops attaching, and a replaced secret stops verifying,
 *   within it.
 * - A write through durable-objects/apps.ts drops the app's entries of this isolate at once.
 * - Concurrent misses for one app share one load; a failed load is not cached.
 * - Bounded: past MAX_ENTRIES a map is cleared (made-up appIds cost loads, not memory).
 * - Secrets stay in this isolate's memory only; they are never logged or sent anywhere.
 */
import type { AppSecrets } from "../core/app";
import type { AppRecord } from "./AppState-schema";

export const APP_CACHE_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

/** The cache's clock; replaced only by tests. */
export const appCacheClock = { now: (): number => Date.now() };

class TtlCache<T> {
  private readonly entries = new Map<string, { loadedAt: number; value: Promise<T> }>();

  get(appId: string, load: (appId: string) => Promise<T>): Promise<T> {
    const now = appCacheClock.now();
    const entry = this.entries.get(appId);
    if (entry !== undefined && now - entry.loadedAt < APP_CACHE_TTL_MS) return entry.value;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const value = load(appId);
    const fresh = { loadedAt: now, value };
    this.entries.set(appId, fresh);
    value.catch(() => {
      if (this.entries.get(appId) === fresh) this.entries.delete(appId);
    });
    return value;
  }

  forget(appId: string): void {
    this.entries.delete(appId);
  }
}

const records = new TtlCache<AppRecord | null>();
const secrets = new TtlCache<AppSecrets | null>();

export function cachedApp(appId: string, load: (appId: string) => Promise<AppRecord | null>): Promise<AppRecord | null> {
  return records.get(appId, load);
}

export function cachedSecrets(appId: string, load: (appId: string) => Promise<AppSecrets | null>): Promise<AppSecrets | null> {
  return secrets.get(appId, load);
}

export function forgetCachedApp(appId: string): void {
  records.forget(appId);
  secrets.forget(appId);
}
