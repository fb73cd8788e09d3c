/**
 * The zod schemas of the HTTP API: the same objects validate the requests (worker/validate.ts) and
 * generate /openapi.json (worker/openapi.ts), so the document cannot drift from what is enforced.
 * Where core/ already owns a rule (app ids, user ids, webhook URLs, origins, API keys), the schema
 * asks core instead of restating it. The stores re-check with core's parsers (defence in depth).
 */
import { z } from "@hono/zod-openapi";
import { APP_ID_PATTERN, APP_LIMITS, ENVIRONMENTS, isKaleyraBaseUrl, isWebhookUrl, parseAppPut, REGIONS } from "../core/app";
import { ERROR_MESSAGES } from "../core/errors";
import { ATTACH_MODES, USER_ID_PATTERN } from "../core/protocol";
import { GRACE_SECONDS_MAX, GRACE_SECONDS_MIN } from "../core/upstream";
import { MAX_TICKET_LIFETIME_SEC } from "../core/ticket";
import { RETRY_POLICY_LIMITS } from "../core/policy";
import { MAX_APPS_PAGE, MAX_SESSIONS_PAGE } from "../durable-objects";
import { ACTIVE_STATUSES, STATUSES } from "../core/session";
import { VapidKeysSchema, WakeSettingsSchema } from "./openapi-wake";

/** Core's own rule for one body key, so the schema and core cannot disagree. */
const coreAccepts = (extra: Record<string, unknown>) => parseAppPut({ environment: "sandbox", region: "eu", ...extra }).ok;

export const AppIdParam = z.string().regex(APP_ID_PATTERN, "must look like mAppId_xxx: mAppId_ then 1..64 of A-Z a-z 0-9 _ -").openapi({ param: { name: "appId", in: "path" }, example: "mAppId_acme" });
export const UserIdParam = z.string().regex(USER_ID_PATTERN, "must be 1..128 of A-Z a-z 0-9 _ . @ + -").openapi({ param: { name: "userId", in: "path" }, example: "alice" });
export const KeyIdParam = z.string().regex(/^[0-9a-f]{12}$/, "must be a key id: 12 lower-case hex digits").openapi({ param: { name: "keyId", in: "path" }, example: "3f9a0c12be47" });

const duration = (min: number) => z.number().int().min(min).max(RETRY_POLICY_LIMITS.maxMs);
const delayTable = z
  .array(duration(0))
  .min(1)
  .max(RETRY_POLICY_LIMITS.maxTableLength)
  .refine((t) => t[0] === 0, { message: "must be 0: the first attempt has no wait", path: [0] });

const RetryPolicySchema = z
  .strictObject({
    tokenAttemptDelaysMs: delayTable.optional(),
    tokenAttemptTimeoutMs: duration(RETRY_POLICY_LIMITS.min.tokenAttemptTimeoutMs).optional(),
    reconnectDelaysMs: delayTable.optional(),
    reconnectSteadyDelayMs: duration(RETRY_POLICY_LIMITS.min.reconnectSteadyDelayMs).optional(),
    jitterMaxMs: duration(RETRY_POLICY_LIMITS.min.jitterMaxMs).optional(),
  })
  .openapi("RetryPolicy", { description: "Merged over the seed's defaults; absent keys keep the default." });

const ServerTokensSchema = z
  .strictObject({
    source: z.enum(["kaleyra_api", "webhook"]),
    order: z.enum(["first", "fallback"]),
    // Loopback passes the schema; whether this deployment allows it (ALLOW_LOCAL_WEBHOOKS) is
    // AppState's check, so the answer is the same bad_request either way.
    webhookUrl: z.string().refine((v) => isWebhookUrl(v, true), "must be an https URL to a public host (http to loopback only in the local composition)").optional(),
  })
  .refine((s) => s.source !== "webhook" || s.webhookUrl !== undefined, { message: "is required when source is webhook", path: ["webhookUrl"] })
  .openapi("ServerTokens");

const UpstreamSchema = z
  .strictObject({
    keep: z.enum(["always", "grace"]).optional(),
    graceSeconds: z.number().int().min(GRACE_SECONDS_MIN).max(GRACE_SECONDS_MAX).optional(),
    pool: z.enum(["shared", "own"]).optional(),
  })
  .refine((u) => u.graceSeconds === undefined || u.keep === "grace", { message: "is allowed only with keep grace", path: ["graceSeconds"] })
  .openapi("Upstream", {
    description:
      "The Kaleyra connection while no client is attached (keep: always, the default, so a call reaches a closed app; or grace: closed graceSeconds after the last client left, reopened when one attaches) and its connector pool (shared, the default, or the app's own).",
  });

const settingsShape = {
  environment: z.enum(ENVIRONMENTS),
  region: z.enum(REGIONS),
  retryPolicy: RetryPolicySchema.optional(),
  serverTokens: ServerTokensSchema.optional(),
  attachModes: z
    .array(z.enum(ATTACH_MODES as ["token", "resume", "ticket"]))
    .min(1)
    .max(ATTACH_MODES.length)
    .refine((m) => new Set(m).size === m.length, "must not list a mode twice")
    .optional(),
  allowedOrigins: z
    .array(z.string().refine((o) => coreAccepts({ allowedOrigins: [o] }), "must be an origin as browsers send it: scheme://host[:port]"))
    .max(APP_LIMITS.maxAllowedOrigins)
    .optional(),
  maxSessions: z.number().int().min(1).max(APP_LIMITS.maxSessions).optional(),
  upstream: UpstreamSchema.optional(),
  // Loopback passes here; whether this deployment allows it is AppState's check (as for webhooks).
  kaleyra: z
    .strictObject({
      restUrl: z.string().refine((v) => isKaleyraBaseUrl(v, ["https:"], true), "must be an https:// URL (http only to loopback, locally)").optional(),
      realtimeUrl: z.string().refine((v) => isKaleyraBaseUrl(v, ["wss:", "https:"], true), "must be a wss:// or https:// URL (ws/http only to loopback, locally)").optional(),
    })
    .openapi("KaleyraUrls", { description: "Kaleyra's REST and realtime base URLs for this app, when not the ones derived from environment and region." })
    .optional(),
  wake: WakeSettingsSchema.optional(),
};

const sharedSecret = z.string().min(APP_LIMITS.sharedSecretLength.min).max(APP_LIMITS.sharedSecretLength.max).regex(/^\S+$/, "must have no whitespace");

/** `PUT /v1/apps/:appId`: settings plus write-only secrets (absent: kept; null: deleted). */
export const AppPutSchema = z
  .strictObject({
    ...settingsShape,
    kaleyraApiKey: z
      .string()
      .refine((k) => coreAccepts({ kaleyraApiKey: k }), "must look like ak_live_… or ak_test_… (Kaleyra's API key)")
      .nullable()
      .optional(),
    tokenWebhookSecret: sharedSecret.nullable().optional(),
    attachTicketSecret: sharedSecret.nullable().optional(),
    wakeWebhookSecret: sharedSecret.nullable().optional(),
    vapidKeys: VapidKeysSchema,
  })
  .openapi("AppPut");

export const AppRecordSchema = z
  .object({
    appId: z.string(),
    ...settingsShape,
    secrets: z
      .object({ kaleyraApiKey: z.boolean(), tokenWebhookSecret: z.boolean(), attachTicketSecret: z.boolean(), wakeWebhookSecret: z.boolean(), vapidKeys: z.boolean() })
      .openapi({ description: "Which secrets are set; never their values." }),
    vapidPublicKey: z.string().optional().openapi({ description: "The VAPID public key pages subscribe with (docs/push.md); its private half is a secret." }),
    epoch: z.string().openapi({
      description:
        "This registration of the app: the same across PUTs, new when the app is deleted and registered again; resume credentials of an earlier registration stop working (docs/security.md, invariant 10).",
    }),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .openapi("AppRecord");

export const AppListSchema = z
  .object({ apps: z.array(z.object({ appId: z.string(), createdAt: z.number().int() })), nextCursor: z.string().optional() })
  .openapi("AppList");

const cursor = z.string().max(128).optional().openapi({ description: "nextCursor of the previous page." });
export const AppListQuery = z.object({ cursor, limit: z.coerce.number().int().min(1).max(MAX_APPS_PAGE).default(50) });
export const SessionListQuery = z.object({
  status: z.enum(ACTIVE_STATUSES).optional(),
  cursor: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the nextCursor of the previous page")
    .optional()
    .openapi({ description: "nextCursor of the previous page." }),
  limit: z.coerce.number().int().min(1).max(MAX_SESSIONS_PAGE).default(50),
});

const TenantKeySchema = z.object({ id: z.string(), createdAt: z.number().int() }).openapi("TenantKey");
export const TenantKeyCreatedSchema = z
  .object({ id: z.string(), key: z.string().openapi({ description: "Shown once: only its SHA-256 is stored." }), createdAt: z.number().int(), keys: z.array(TenantKeySchema) })
  .openapi("TenantKeyCreated");
export const TenantKeyListSchema = z.object({ keys: z.array(TenantKeySchema) }).openapi("TenantKeyList");

const SessionViewSchema = z
  .object({
    status: z.enum(STATUSES),
    mode: z.enum(["token", "access_link"]).optional(),
    userId: z.string().optional(),
    error: z.string().optional(),
    reason: z.string().optional(),
    lastError: z.string().optional().openapi({ description: "The last failure of the current cycle (token_timeout, token_failed, user_not_found, ...)." }),
    tokenAttempt: z.number().int(),
    reconnectAttempt: z.number().int(),
    refreshing: z.boolean(),
    nextAttemptAt: z.number().optional().openapi({ description: "When the next token or reconnect attempt starts, while one waits." }),
    expiresAt: z.number().optional().openapi({ description: "When the session's current token expires." }),
    refreshAt: z.number().optional().openapi({ description: "While connected by token: when the next token refresh starts." }),
  })
  .openapi("SessionView", { description: "The session as its clients see it (docs/protocol.md, the state frame)." });

export const SessionDescriptionSchema = z
  .object({ view: SessionViewSchema, clients: z.number().int().openapi({ description: "Attached, proven client sockets." }) })
  .openapi("SessionDescription");

export const SessionPageSchema = z
  .object({
    sessions: z.array(
      z.object({
        status: z.enum(ACTIVE_STATUSES),
        kind: z.enum(["token", "access_link"]).optional(),
        userId: z.string().optional(),
        updatedAt: z.number().int(),
      }),
    ),
    nextCursor: z.string().optional(),
  })
  .openapi("SessionPage");

export const EndSessionSchema = z
  .strictObject({ clearSavedData: z.boolean().default(true) })
  .openapi("EndSession", { description: "disconnect(clearSavedData) of the SDK; true also deletes the user's saved data." });

export const TicketRequestSchema = z.strictObject({ ttlSeconds: z.number().int().min(1).max(MAX_TICKET_LIFETIME_SEC).default(MAX_TICKET_LIFETIME_SEC) }).openapi("TicketRequest");
export const TicketSchema = z
  .object({ ticket: z.string().openapi({ description: "HS256 JWT: appId, userId, exp (at most 5 minutes), jti (accepted once); for the client's auth frame." }), expiresAt: z.number().int() })
  .openapi("Ticket");

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_MESSAGES) as [keyof typeof ERROR_MESSAGES, ...(keyof typeof ERROR_MESSAGES)[]]),
      message: z.string().openapi({ description: "What to do; for bad_request, what is wrong (the first three details)." }),
      field: z.string().optional().openapi({ description: "The field that was wrong: the first detail's." }),
      details: z
        .array(z.object({ field: z.string(), reason: z.string().openapi({ example: "must be one of eu, in, us, me" }) }))
        .optional()
        .openapi({ description: "Every reason the request was refused (bad_request), at most 20; a reason never quotes the input." }),
    }),
  })
  .openapi("Error");

export const WebhookSchema = z
  .object({ event: z.string().max(64), app_id: z.string(), data: z.record(z.string(), z.unknown()).optional() })
  .openapi("KaleyraWebhook", {
    description: "Kaleyra's signed webhook. on_session_ended, on_room_disabled, on_room_deleted (v1) and on_call_ended (v0) end the room's access-link sessions; on_call_incoming (v0) may wake the users the tenant said the room calls (docs/push.md); other events are acknowledged and ignored.",
  });
