/**
 * The zod schemas of the wake API (issue 21, docs/push.md): the app's `wake` settings and VAPID
 * pair, the tenant's wake and room routes, the public push key. Where core owns a rule (a wake
 * setting, a tenant wake), the schema asks core, so the document and the checks cannot disagree;
 * the bounds are core's constants.
 */
import { z } from "@hono/zod-openapi";
import { isVapidKeyPair } from "../core/app";
import { USER_ID_PATTERN } from "../core/protocol";
import { VAPID_PUBLIC_KEY_PATTERN } from "../core/protocol-push";
import { MAX_WAKE_EVENT_NAME, MAX_WAKE_EVENTS, parseWakeSettings } from "../core/wake-settings";
import { parseTenantWake, ROOM_USER_LIMITS, TENANT_WAKE_LIMITS } from "../core/wake-tenant";

/** Core's verdict on one part of a wake setting (loopback passes here; AppState holds the deployment's rule). */
const wakeAccepts = (extra: Record<string, unknown>) => parseWakeSettings({ events: [], ...extra }, { allowLocalWebhooks: true }).ok;

export const WakeSettingsSchema = z
  .strictObject({
    events: z
      .array(z.string().min(1).max(MAX_WAKE_EVENT_NAME).regex(/^\S+$/, "must have no whitespace"))
      .max(MAX_WAKE_EVENTS)
      .refine((e) => new Set(e).size === e.length, "must not list an event twice")
      .openapi({ description: "Kaleyra event names that wake a user with no client attached (the relayed incoming-call event's name, configuration), and on_call_incoming for Kaleyra's v0 webhook." }),
    webPush: z
      .strictObject({
        enabled: z.boolean(),
        contact: z.string().refine((c) => wakeAccepts({ webPush: { enabled: true, contact: c } }), "must be a mailto: or https: URI of at most 256 characters (the VAPID sub)"),
      })
      .optional(),
    webhookUrl: z
      .string()
      .refine((u) => wakeAccepts({ webhookUrl: u }), "must be an https URL to a public host (http to loopback only in the local composition)")
      .optional()
      .openapi({ description: "The tenant's wake webhook (native push through the tenant's own FCM), signed with wakeWebhookSecret." }),
    limits: z
      .strictObject({
        burst: z.number().int().min(1).max(50).optional(),
        refillSec: z.number().int().min(1).max(3_600).optional(),
        dedupSec: z.number().int().min(60).max(86_400).optional(),
        subscriptionsPerUser: z.number().int().min(1).max(20).optional(),
      })
      .refine((l) => wakeAccepts({ limits: l }), "must be within core's bounds")
      .optional(),
  })
  .openapi("WakeSettings", { description: "Waking a closed app when a call comes (docs/push.md)." });

export const VapidKeysSchema = z
  .object({ publicKey: z.string(), privateKey: z.string() })
  .refine(isVapidKeyPair, "must be { publicKey, privateKey }: a P-256 point (87) and scalar (43), unpadded base64url")
  .nullable()
  .optional()
  .openapi({ description: "Write-only. Absent: kept (one is drawn at registration); null: a new pair is drawn (a rotation: every browser subscribes again); a pair: the operator's own." });

export const TenantWakeSchema = z
  .object({
    event: z.string().min(1).max(TENANT_WAKE_LIMITS.eventName).openapi({ example: "chat:message" }),
    id: z.string().min(1).max(TENANT_WAKE_LIMITS.id).optional().openapi({ description: "The tenant's id for the wake: one wake per id per user." }),
    title: z.string().min(1).max(TENANT_WAKE_LIMITS.title).optional(),
    body: z.string().min(1).max(TENANT_WAKE_LIMITS.body).optional(),
    data: z.record(z.string(), z.unknown()).optional().openapi({ description: `At most ${TENANT_WAKE_LIMITS.dataBytes} bytes of JSON; never a token or an access link.` }),
    ttl: z.number().int().min(0).max(TENANT_WAKE_LIMITS.maxTtlSec).optional(),
    urgency: z.enum(["low", "normal", "high"]).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const parsed = parseTenantWake(body);
    if (!parsed.ok) ctx.addIssue({ code: "custom", path: [parsed.error.field ?? "body"], message: "is not allowed: a bad shape, or text that looks like a token or an access link" });
  })
  .openapi("TenantWake");

export const WakeResultSchema = z
  .object({
    woken: z.boolean(),
    skip: z.enum(["wake_off", "event_not_listed", "client_attached", "no_session", "duplicate", "rate_limited", "no_channel"]).optional(),
    webPush: z.number().int().optional().openapi({ description: "Subscriptions a push was sent to." }),
    webhook: z.boolean().optional().openapi({ description: "Whether the wake webhook was called." }),
  })
  .openapi("WakeResult", { description: "Whether the user was woken; if not, why (docs/push.md). Deliveries that fail are retried on the session's alarm." });

export const RoomParam = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a Kaleyra room id: 1..128 of A-Z a-z 0-9 _ -").openapi({ param: { name: "roomId", in: "path" }, example: "room_8e2f" });

export const RoomUsersSchema = z
  .strictObject({ userIds: z.array(z.string().regex(USER_ID_PATTERN)).min(1).max(ROOM_USER_LIMITS.maxUsers) })
  .openapi("RoomUsers", { description: "The users the room calls: Kaleyra's v0 on_call_incoming for the room wakes them (kept 24 h)." });

export const PushKeySchema = z
  .object({
    vapidPublicKey: z.string().regex(VAPID_PUBLIC_KEY_PATTERN).openapi({ description: "The page's applicationServerKey." }),
    webPush: z.boolean().openapi({ description: "Whether the app sends Web Push (wake.webPush.enabled)." }),
  })
  .openapi("PushKey");
