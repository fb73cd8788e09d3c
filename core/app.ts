/**
 * An app (tenant) as the registry stores it and as sessions see it. Kaleyra app ids look like
 * `mAppId_xxx`; environment and region are the values of the SDK's configure().
 */
import { invalidInput, kaleyraError } from "./errors";
import { ATTACH_MODES, type AttachMode } from "./protocol";
import { parseRetryPolicy, type RetryPolicy } from "./policy";
import { fail, ok, type Result } from "./result";
import { parseUpstream, type UpstreamSettings } from "./upstream";
import { parseWakeSettings, type WakeSettings } from "./wake-settings";
import { isKaleyraBaseUrl, isWebhookUrl } from "./webhook-url";

export { isKaleyraBaseUrl, isWebhookUrl };

/** What the deployment allows beyond the production rules (the local composition only). */
export interface SettingsPolicy {
  /** A token webhook may be http(s) on loopback (ALLOW_LOCAL_WEBHOOKS). */
  allowLocalWebhooks?: boolean;
}

export const ENVIRONMENTS = ["production", "sandbox"] as const;
/** Kaleyra's regions; `me` is the Middle East (the iOS SDK's `.middleEast`). */
export const REGIONS = ["eu", "in", "us", "me"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export type Region = (typeof REGIONS)[number];

export const APP_ID_PATTERN = /^mAppId_[A-Za-z0-9_-]{1,64}$/;

/**
 * The app's server-side token source (the server's KaleyraVideoInitializer), used by sessions when
 * no client is attached or the clients fail ("fallback"), or before any client ("first").
 * `kaleyra_api`: Kaleyra's credentials call with the app's API key. `webhook`: a signed POST to
 * the tenant's backend, which answers `{ "access_token": "..." }`.
 */
export interface ServerTokenSettings {
  source: "kaleyra_api" | "webhook";
  order: "first" | "fallback";
  /** For `webhook`: https to a public host (core/webhook-url.ts); loopback only where the deployment allows it. */
  webhookUrl?: string;
}

export interface AppSettings {
  environment: Environment;
  region: Region;
  /** Absent: the seed's defaults. */
  retryPolicy?: RetryPolicy;
  /** Absent: tokens come from clients only. */
  serverTokens?: ServerTokenSettings;
  /** How clients prove who they are when attaching to a token session. Absent: token and resume. */
  attachModes?: AttachMode[];
  /** Browser origins allowed to open sockets (e.g. "https://app.example.com"). Absent: any. */
  allowedOrigins?: string[];
  /** Most token and access-link sessions the app may have connected at once. Absent: 10,000. */
  maxSessions?: number;
  /**
   * Kaleyra's addresses for this app, when they are not the ones derived from environment and
   * region (the Kaleyra console shows each key's own "API Domain"; sandbox hosts outside `eu` are
   * not documented): REST base (`https://api…`) and realtime base (`wss://cs…`).
   */
  kaleyra?: KaleyraUrls;
  /** The Kaleyra connection while no client is attached, and its connector pool (core/upstream.ts). Absent: always, shared. */
  upstream?: UpstreamSettings;
  /** Waking a closed app when a call comes (docs/push.md). Absent: nobody is woken. */
  wake?: WakeSettings;
}

export interface KaleyraUrls {
  restUrl?: string;
  realtimeUrl?: string;
}

export const DEFAULT_ATTACH_MODES: readonly AttachMode[] = ["token", "resume"];
export const DEFAULT_MAX_SESSIONS = 10_000;

/** The bounds an app's settings and secrets are held to here (the HTTP schema shows the same). */
export const APP_LIMITS = {
  maxAllowedOrigins: 50,
  maxSessions: 1_000_000,
  /** tokenWebhookSecret and attachTicketSecret: this many characters, no whitespace. */
  sharedSecretLength: { min: 16, max: 256 },
} as const;

/**
 * Write-only secrets of an app: accepted by PUT, stored by the registry, never returned or logged.
 * In a PUT, an absent key keeps the stored secret and `null` deletes it.
 */
export interface AppSecrets {
  /** Kaleyra's REST API key: mints tokens and verifies Kaleyra's webhook signatures. */
  kaleyraApiKey?: string;
  /** Signs the token requests sent to the tenant's token webhook. */
  tokenWebhookSecret?: string;
  /** Verifies tenant-signed attach tickets (HS256 JWT with appId, userId, exp). */
  attachTicketSecret?: string;
  /** Signs the wakes sent to the tenant's wake webhook (wake.webhookUrl). */
  wakeWebhookSecret?: string;
  /**
   * The app's VAPID pair (RFC 8292): drawn when the app is registered, or the operator's. The
   * private key is write-only like every secret; the public key is public (the record's
   * `vapidPublicKey`, GET /v1/apps/:appId/push), pages subscribe with it.
   */
  vapidKeys?: VapidKeyPair;
}

export interface VapidKeyPair {
  /** The 65-byte uncompressed P-256 point, unpadded base64url. */
  publicKey: string;
  /** The 32-byte private scalar, unpadded base64url. */
  privateKey: string;
}

/** In a PUT: absent keeps, null deletes (for vapidKeys: a new pair is drawn, a rotation). */
export type AppSecretsUpdate = { [K in keyof AppSecrets]?: AppSecrets[K] | null };

/** The secrets a PUT sets by value (vapidKeys, a pair, is read by parseVapidKeys). */
export const SECRET_KEYS = ["kaleyraApiKey", "tokenWebhookSecret", "attachTicketSecret", "wakeWebhookSecret"] as const;

/** Kaleyra API keys look like ak_live_… or ak_test_…. */
const API_KEY_PATTERN = /^ak_(live|test)_[A-Za-z0-9_-]{4,128}$/;

export function isAppId(v: unknown): v is string {
  return typeof v === "string" && APP_ID_PATTERN.test(v);
}

export function isEnvironment(v: unknown): v is Environment {
  return (ENVIRONMENTS as readonly unknown[]).includes(v);
}

export function isRegion(v: unknown): v is Region {
  return (REGIONS as readonly unknown[]).includes(v);
}

/** The settings part of `PUT /v1/apps/:appId` (no secrets). Unknown keys are refused. */
export function parseAppSettings(input: unknown, policy: SettingsPolicy = {}): Result<AppSettings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail(kaleyraError("bad_request", "body"));
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !SETTINGS_KEYS.includes(k));
  if (extra !== undefined) return fail(kaleyraError("bad_request", extra));
  if (!isEnvironment(o.environment)) return fail(kaleyraError("bad_request", "environment"));
  if (!isRegion(o.region)) return fail(kaleyraError("bad_request", "region"));
  const settings: AppSettings = { environment: o.environment, region: o.region };
  if (o.retryPolicy !== undefined) {
    const policy = parseRetryPolicy(o.retryPolicy);
    if (!policy.ok) return policy;
    settings.retryPolicy = policy.value;
  }
  if (o.serverTokens !== undefined) {
    const server = parseServerTokens(o.serverTokens, policy);
    if (!server.ok) return server;
    settings.serverTokens = server.value;
  }
  if (o.attachModes !== undefined) {
    const modes = o.attachModes;
    const valid = Array.isArray(modes) && modes.length >= 1 && modes.length <= ATTACH_MODES.length && new Set(modes).size === modes.length;
    if (!valid || !modes.every((m) => (ATTACH_MODES as readonly unknown[]).includes(m))) return fail(kaleyraError("bad_request", "attachModes"));
    settings.attachModes = modes as AttachMode[];
  }
  if (o.allowedOrigins !== undefined) {
    const origins = o.allowedOrigins;
    if (!Array.isArray(origins) || origins.length > APP_LIMITS.maxAllowedOrigins || !origins.every(isOrigin)) return fail(kaleyraError("bad_request", "allowedOrigins"));
    settings.allowedOrigins = origins as string[];
  }
  if (o.kaleyra !== undefined) {
    const urls = parseKaleyraUrls(o.kaleyra, policy.allowLocalWebhooks === true);
    if (!urls.ok) return urls;
    settings.kaleyra = urls.value;
  }
  if (o.upstream !== undefined) {
    const upstream = parseUpstream(o.upstream);
    if (!upstream.ok) return upstream;
    settings.upstream = upstream.value;
  }
  if (o.maxSessions !== undefined) {
    const max = o.maxSessions;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > APP_LIMITS.maxSessions) return fail(kaleyraError("bad_request", "maxSessions"));
    settings.maxSessions = max;
  }
  if (o.wake !== undefined) {
    const wake = parseWakeSettings(o.wake, policy);
    if (!wake.ok) return wake;
    settings.wake = wake.value;
  }
  return ok(settings);
}

const SETTINGS_KEYS = ["environment", "region", "retryPolicy", "serverTokens", "attachModes", "allowedOrigins", "maxSessions", "kaleyra", "upstream", "wake"];

function parseKaleyraUrls(input: unknown, allowLocal: boolean): Result<KaleyraUrls> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail(kaleyraError("bad_request", "kaleyra"));
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => k !== "restUrl" && k !== "realtimeUrl");
  if (extra !== undefined) return fail(kaleyraError("bad_request", `kaleyra.${extra}`));
  const urls: KaleyraUrls = {};
  if (o.restUrl !== undefined) {
    if (!isKaleyraBaseUrl(o.restUrl, ["https:"], allowLocal)) return badUrl("kaleyra.restUrl", "an https:// URL to a public host");
    urls.restUrl = o.restUrl;
  }
  if (o.realtimeUrl !== undefined) {
    if (!isKaleyraBaseUrl(o.realtimeUrl, ["wss:", "https:"], allowLocal)) return badUrl("kaleyra.realtimeUrl", "a wss:// or https:// URL to a public host");
    urls.realtimeUrl = o.realtimeUrl;
  }
  return ok(urls);
}

/**
 * A URL this deployment refuses. The API's schema lets loopback through (the local composition
 * allows it), so in production this is the answer a loopback address gets: it names the rule.
 */
const badUrl = (field: string, rule: string) => fail<never>(invalidInput("bad_request", [{ field, reason: `must be ${rule} (loopback is allowed only in the local composition)` }]));

/** An origin exactly as browsers send it: scheme://host[:port], nothing else. */
function isOrigin(v: unknown): v is string {
  if (typeof v !== "string" || v.length > 256) return false;
  try {
    const url = new URL(v);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === v;
  } catch {
    return false;
  }
}

function parseServerTokens(input: unknown, policy: SettingsPolicy): Result<ServerTokenSettings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail(kaleyraError("bad_request", "serverTokens"));
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !["source", "order", "webhookUrl"].includes(k));
  if (extra !== undefined) return fail(kaleyraError("bad_request", `serverTokens.${extra}`));
  if (o.source !== "kaleyra_api" && o.source !== "webhook") return fail(kaleyraError("bad_request", "serverTokens.source"));
  if (o.order !== "first" && o.order !== "fallback") return fail(kaleyraError("bad_request", "serverTokens.order"));
  const settings: ServerTokenSettings = { source: o.source, order: o.order };
  if (o.source === "webhook" || o.webhookUrl !== undefined) {
    if (!isWebhookUrl(o.webhookUrl, policy.allowLocalWebhooks === true)) return badUrl("serverTokens.webhookUrl", "an https URL to a public host");
    settings.webhookUrl = o.webhookUrl;
  }
  return ok(settings);
}

/**
 * Splits a PUT body into settings and secret updates. The secrets are checked for shape only;
 * whether the stored secrets satisfy the settings is checked by requiredSecretsMissing.
 */
export function parseAppPut(input: unknown, policy: SettingsPolicy = {}): Result<{ settings: AppSettings; secrets: AppSecretsUpdate }> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail(kaleyraError("bad_request", "body"));
  const rest: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  const secrets: AppSecretsUpdate = {};
  for (const key of SECRET_KEYS) {
    if (!(key in rest)) continue;
    const value = rest[key];
    delete rest[key];
    const valid = value === null || (key === "kaleyraApiKey" ? typeof value === "string" && API_KEY_PATTERN.test(value) : isSharedSecret(value));
    if (!valid) return fail(kaleyraError("bad_request", key));
    secrets[key] = value as string | null;
  }
  if ("vapidKeys" in rest) {
    const pair = rest.vapidKeys;
    delete rest.vapidKeys;
    if (pair !== null && !isVapidKeyPair(pair)) return fail(invalidInput("bad_request", [{ field: "vapidKeys", reason: "must be null (draw a new pair) or { publicKey, privateKey }: a P-256 point (87) and scalar (43), unpadded base64url" }]));
    secrets.vapidKeys = pair;
  }
  const settings = parseAppSettings(rest, policy);
  return settings.ok ? ok({ settings: settings.value, secrets }) : settings;
}

/** The shape of an operator's VAPID pair; whether the keys match is checked with Web Crypto (crypto/vapid.ts). */
export function isVapidKeyPair(v: unknown): v is VapidKeyPair {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const { publicKey, privateKey, ...extra } = v as Record<string, unknown>;
  return Object.keys(extra).length === 0 && typeof publicKey === "string" && /^B[A-Za-z0-9_-]{86}$/.test(publicKey) && typeof privateKey === "string" && /^[A-Za-z0-9_-]{43}$/.test(privateKey);
}

function isSharedSecret(v: unknown): v is string {
  return typeof v === "string" && v.length >= APP_LIMITS.sharedSecretLength.min && v.length <= APP_LIMITS.sharedSecretLength.max && !/\s/.test(v);
}

/** Why the settings need each secret, as the reason of the refusal when it is missing. */
export const SECRET_NEEDED_BY: Record<keyof AppSecrets, string> = {
  kaleyraApiKey: "is required by serverTokens.source kaleyra_api (Kaleyra's credentials call uses it)",
  tokenWebhookSecret: "is required by serverTokens.source webhook (it signs the token requests)",
  attachTicketSecret: "is required by the ticket attach mode (it verifies the tickets)",
  wakeWebhookSecret: "is required by wake.webhookUrl (it signs the wakes sent there)",
  vapidKeys: "is required by wake.webPush (pushes are signed with it)",
};

/** The secret the settings need but the app would not have; undefined when all is there. */
export function requiredSecretMissing(settings: AppSettings, secrets: AppSecrets): keyof AppSecrets | undefined {
  if (settings.serverTokens?.source === "kaleyra_api" && secrets.kaleyraApiKey === undefined) return "kaleyraApiKey";
  if (settings.serverTokens?.source === "webhook" && secrets.tokenWebhookSecret === undefined) return "tokenWebhookSecret";
  if (settings.attachModes?.includes("ticket") && secrets.attachTicketSecret === undefined) return "attachTicketSecret";
  if (settings.wake?.webhookUrl !== undefined && secrets.wakeWebhookSecret === undefined) return "wakeWebhookSecret";
  if (settings.wake?.webPush?.enabled === true && secrets.vapidKeys === undefined) return "vapidKeys";
  return undefined;
}
