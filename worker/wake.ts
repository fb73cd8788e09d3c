/**
 * The wake routes (issue 21, docs/push.md): a page reads the app's VAPID public key (public: it is
 * every page's applicationServerKey); a tenant's backend wakes one of its users (chat and other app
 * events) and says which users a Kaleyra room calls, so Kaleyra's v0 on_call_incoming, which names
 * only the room, finds them (worker/webhooks.ts).
 * Invariants: the tenant routes check the tenant key first (worker/tenant.ts's requireTenant), so
 * one app's key wakes none of another app's users; the wake body is core's (parseTenantWake), never
 * a token or an access link; nothing here returns a secret.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { kaleyraError } from "../core/errors";
import { parseTenantWake, ROOM_USER_LIMITS } from "../core/wake-tenant";
import { appState, cachedApp, userSession, type Env } from "../durable-objects";
import { errors, json } from "./openapi-responses";
import { AppIdParam } from "./openapi-schemas";
import { PushKeySchema, RoomParam, RoomUsersSchema, TenantWakeSchema, WakeResultSchema } from "./openapi-wake";
import { AppParams, limitBody } from "./routes";
import { MAX_TENANT_BODY_BYTES, requireTenant, tenantRoute, UserParams } from "./tenant";
import { bodyOf, bodyRoute, defaultHook, jsonBody, refuse, validPath } from "./validate";

export const wake = new OpenAPIHono<{ Bindings: Env }>({ defaultHook });

wake.openapi(
  createRoute({
    method: "get",
    path: "/v1/apps/{appId}/push",
    operationId: "getPushKey",
    tags: ["clients"],
    // Public: the key is what every page subscribes with; its private half never leaves the app's state.
    security: [],
    summary: "The app's VAPID public key, for a page's pushManager.subscribe() (docs/push.md)",
    middleware: [validPath(AppParams)] as const,
    request: { params: z.object({ appId: AppIdParam }) },
    responses: { 200: json(PushKeySchema, "The key, and whether the app sends Web Push"), ...errors(400, 404) },
  }),
  async (c) => {
    const { appId } = c.req.valid("param");
    const record = await cachedApp(appId, (id) => appState(c.env, id).getApp());
    // An app registered before wakes existed draws its pair on this first ask.
    const key = record === null ? null : (record.vapidPublicKey ?? (await appState(c.env, appId).vapidPublicKey()));
    if (record === null || key === null) return refuse(kaleyraError("app_id_invalid"));
    c.header("Access-Control-Allow-Origin", "*");
    return c.json({ vapidPublicKey: key, webPush: record.wake?.webPush?.enabled === true }, 200);
  },
);

wake.openapi(
  bodyRoute(wake, tenantRoute({
    method: "post",
    path: "/v1/tenant/apps/{appId}/users/{userId}/wake",
    operationId: "tenantWakeUser",
    summary: "Wake a user's closed app (Web Push and/or the wake webhook) for a chat or another app event",
    description: "Skipped while a proven client of the user is attached (the page is open), for a repeated id, over the user's rate limit, or when the user has nowhere to be woken; the answer says which.",
    middleware: [requireTenant, validPath(UserParams), limitBody(MAX_TENANT_BODY_BYTES), jsonBody(TenantWakeSchema)] as const,
    request: { params: UserParams, body: { content: { "application/json": { schema: TenantWakeSchema } }, required: true } },
    responses: { 200: json(WakeResultSchema, "Woken (deliveries started; failed ones are retried), or skipped and why"), ...errors(400, 401, 413) },
  } as const)),
  async (c) => {
    const { appId, userId } = c.req.valid("param");
    const parsed = parseTenantWake(bodyOf(c, TenantWakeSchema));
    if (!parsed.ok) return refuse(parsed.error);
    return c.json(await userSession(c.env, appId, { kind: "token", userId }).wakeUser(appId, userId, { kind: "tenant", wake: parsed.value }), 200);
  },
);

const RoomParams = z.object({ appId: AppIdParam, roomId: RoomParam });

wake.openapi(
  bodyRoute(wake, tenantRoute({
    method: "put",
    path: "/v1/tenant/apps/{appId}/rooms/{roomId}/users",
    operationId: "tenantSetRoomUsers",
    summary: "Say which users a Kaleyra room calls: its v0 on_call_incoming webhook wakes them (kept 24 h)",
    middleware: [requireTenant, validPath(RoomParams), limitBody(MAX_TENANT_BODY_BYTES), jsonBody(RoomUsersSchema)] as const,
    request: { params: RoomParams, body: { content: { "application/json": { schema: RoomUsersSchema } }, required: true } },
    responses: { 200: json(RoomUsersSchema.extend({ roomId: z.string(), expiresAt: z.number().int() }).openapi("RoomUsersKept"), "Kept"), ...errors(400, 401, 413) },
  } as const)),
  async (c) => {
    const { appId, roomId } = c.req.valid("param");
    const userIds = [...new Set(bodyOf(c, RoomUsersSchema).userIds)];
    if (!(await appState(c.env, appId).setRoomUsers(roomId, userIds))) return refuse(kaleyraError("tenant_unauthorized"));
    return c.json({ roomId, userIds, expiresAt: Date.now() + ROOM_USER_LIMITS.ttlMs }, 200);
  },
);
