/**
 * An app's `wake` settings (issue 21, docs/push.md): which Kaleyra events wake a user with no client
 * open, through which channels (Web Push to the browser's service worker, a signed webhook to the
 * tenant's backend for native push), and the limits. Validated like every other app setting
 * (core/app.ts): a clear `bad_request` naming the field; unknown keys refused.
 * The VAPID key pair is not a setting: the private key is a write-only secret, the public key is
 * derived from it (crypto/vapid.ts).
 */
import { kaleyraError } from "./errors";
import { fail, ok, type Result } from "./result";
import { DEFAULT_MAX_SUBSCRIPTIONS } from "./push-subscription";
import type { SettingsPolicy } from "./app";
import { isWebhookUrl } from "./webhook-url";

/** Kaleyra's documented v0 webhook for an incoming call; listing it in `events` lets it wake. */
export const CALL_INCOMING_WEBHOOK = "on_call_incoming";
export const MAX_WAKE_EVENTS = 16;
export const MAX_WAKE_EVENT_NAME = 128;
/** RFC 8292 section 2.1: the contact is a mailto: or https: URI. */
const CONTACT_PATTERN = /^(mailto:[^\s@]+@[^\s@]+|https:\/\/[^\s]+)$/;

export interface WakeLimits {
  /** Wakes a user may get at once (the token bucket's size). */
  burst: number;
  /** One more wake is allowed every this many seconds (the bucket's refill). */
  refillSec: number;
  /** How long a call's key is remembered: the same call does not wake twice within it. */
  dedupSec: number;
  /** Push subscriptions kept per user; the oldest goes beyond it. */
  subscriptionsPerUser: number;
}

/**
 * burst 5, then one every 20 s (at most 3 a minute, 180 an hour, sustained): more than any person
 * takes calls, less than a loop or a hostile caller needs to flood a phone. A call rings for about a
 * minute and Kaleyra may repeat its event on a reconnect, so a call's key is kept 10 minutes.
 */
export const DEFAULT_WAKE_LIMITS: WakeLimits = { burst: 5, refillSec: 20, dedupSec: 600, subscriptionsPerUser: DEFAULT_MAX_SUBSCRIPTIONS };
const LIMIT_RANGES: Record<keyof WakeLimits, [number, number]> = {
  burst: [1, 50],
  refillSec: [1, 3_600],
  dedupSec: [60, 86_400],
  subscriptionsPerUser: [1, 20],
};

export interface WakeSettings {
  /**
   * Event names that wake the user when no proven client is attached: names relayed on the user's
   * Kaleyra connection (the real incoming-call name is not documented: configuration; the emulator's
   * is `call:incoming`), and `on_call_incoming` for Kaleyra's v0 webhook.
   */
  events: string[];
  /** Web Push to the subscriptions the user's browsers gave. Absent: off. */
  webPush?: { enabled: boolean; /** The VAPID `sub`: mailto: or https: contact of the app's operator. */ contact: string };
  /** The tenant's wake webhook (signed like the token webhook): native push through the tenant. */
  webhookUrl?: string;
  /** Absent fields take DEFAULT_WAKE_LIMITS. */
  limits?: Partial<WakeLimits>;
}

/** The limits in force: the app's, else the defaults. */
export function wakeLimits(settings: WakeSettings | undefined): WakeLimits {
  return { ...DEFAULT_WAKE_LIMITS, ...settings?.limits };
}

/** True when the app would wake anyone: some channel is on. */
export function wakeChannels(settings: WakeSettings | undefined): { webPush: boolean; webhook: boolean } {
  return { webPush: settings?.webPush?.enabled === true, webhook: settings?.webhookUrl !== undefined };
}

const badField = <T>(field: string) => fail<T>(kaleyraError("bad_request", `wake.${field}`));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The `wake` part of an app's settings. */
export function parseWakeSettings(input: unknown, policy: SettingsPolicy = {}): Result<WakeSettings> {
  if (!isObject(input)) return fail(kaleyraError("bad_request", "wake"));
  const extra = Object.keys(input).find((k) => !["events", "webPush", "webhookUrl", "limits"].includes(k));
  if (extra !== undefined) return badField(extra);
  const { events } = input;
  const validEvents =
    Array.isArray(events) &&
    events.length <= MAX_WAKE_EVENTS &&
    new Set(events).size === events.length &&
    events.every((e) => typeof e === "string" && e.length >= 1 && e.length <= MAX_WAKE_EVENT_NAME && !/\s/.test(e));
  if (!validEvents) return badField("events");
  const settings: WakeSettings = { events: events as string[] };
  if (input.webPush !== undefined) {
    const push = input.webPush;
    if (!isObject(push)) return badField("webPush");
    const extraPush = Object.keys(push).find((k) => k !== "enabled" && k !== "contact");
    if (extraPush !== undefined) return badField(`webPush.${extraPush}`);
    if (typeof push.enabled !== "boolean") return badField("webPush.enabled");
    if (typeof push.contact !== "string" || push.contact.length > 256 || !CONTACT_PATTERN.test(push.contact)) return badField("webPush.contact");
    settings.webPush = { enabled: push.enabled, contact: push.contact };
  }
  if (input.webhookUrl !== undefined) {
    if (!isWebhookUrl(input.webhookUrl, policy.allowLocalWebhooks === true)) return badField("webhookUrl");
    settings.webhookUrl = input.webhookUrl;
  }
  if (input.limits !== undefined) {
    const limits = input.limits;
    if (!isObject(limits)) return badField("limits");
    const out: Partial<WakeLimits> = {};
    for (const [key, value] of Object.entries(limits)) {
      const range = LIMIT_RANGES[key as keyof WakeLimits];
      if (range === undefined) return badField(`limits.${key}`);
      if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1]) return badField(`limits.${key}`);
      out[key as keyof WakeLimits] = value;
    }
    settings.limits = out;
  }
  return ok(settings);
}
