/**
 * The admin API (the operator's ADMIN_TOKEN): list, register, read and remove apps, and create,
 * list and revoke each app's tenant API keys. Every route checks, in order: the admin token, the
 * path, then the body; a refused request changes nothing. Paths, queries and bodies are validated
 * by the zod schemas /openapi.json is generated from.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { SECRET_KEYS, type AppSecretsUpdate, type AppSettings } from "../core/app";
import { kaleyraError } from "../core/errors";
import { requireAdmin } from "./auth";
import { appRegistry, apps, appState, userSessionById, type Env } from "../durable-objects";
import { errors, json } from "./openapi-responses";
import { AppIdParam, AppListQuery, AppListSchema, AppPutSchema, AppRecordSchema, KeyIdParam, TenantKeyCreatedSchema, TenantKeyListSchema } from "./openapi-schemas";
import { newTenantKey } from "./tenant-keys";
import { AppParams, apiRoute, limitBody } from "./routes";
import { bodyOf, bodyRoute, defaultHook, jsonBody, refuse, validPath } from "./validate";

export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

const KeyParams = z.object({ appId: AppIdParam, keyId: KeyIdParam });
const adminRoute = apiRoute("admin", "adminToken");

export const admin = new OpenAPIHono<{ Bindings: Env }>({ defaultHook });

admin.openapi(
  createRoute(adminRoute({
    method: "get",
    path: "/v1/apps",
    operationId: "listApps",
    summary: "List the registered apps, in appId order",
    middleware: [requireAdmin] as const,
    request: { query: AppListQuery },
    responses: { 200: json(AppListSchema, "A page of apps"), ...errors(400, 401, 503) },
  })),
  async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await appRegistry(c.env).listApps(cursor, limit), 200);
  },
);

admin.openapi(
  createRoute(adminRoute({
    method: "get",
    path: "/v1/apps/{appId}",
    operationId: "getApp",
    summary: "Read an app's settings (secrets only as set / not set)",
    middleware: [requireAdmin, validPath(AppParams)] as const,
    request: { params: AppParams },
    responses: { 200: json(AppRecordSchema, "The app"), ...errors(400, 401, 404, 503) },
  })),
  async (c) => {
    const record = await apps(c.env).getApp(c.req.valid("param").appId);
    return record === null ? refuse(kaleyraError("app_id_invalid")) : c.json(record, 200);
  },
);

admin.openapi(
  bodyRoute(admin, adminRoute({
    method: "put",
    path: "/v1/apps/{appId}",
    operationId: "putApp",
    summary: "Create or replace an app; secrets are write-only (absent: kept, null: deleted)",
    middleware: [requireAdmin, validPath(AppParams), limitBody(MAX_ADMIN_BODY_BYTES), jsonBody(AppPutSchema)] as const,
    request: { params: AppParams, body: { content: { "application/json": { schema: AppPutSchema } }, required: true } },
    responses: { 200: json(AppRecordSchema, "Replaced"), 201: json(AppRecordSchema, "Created"), ...errors(400, 401, 413, 503) },
  } as const)),
  async (c) => {
    const body = bodyOf(c, AppPutSchema);
    const secrets: AppSecretsUpdate = {};
    const settings: Record<string, unknown> = { ...body };
    for (const key of SECRET_KEYS) {
      if (body[key] !== undefined) secrets[key] = body[key];
      delete settings[key];
    }
    if (body.vapidKeys !== undefined) secrets.vapidKeys = body.vapidKeys;
    delete settings.vapidKeys;
    const written = await apps(c.env).putApp(c.req.valid("param").appId, settings as unknown as AppSettings, secrets);
    if (!written.ok) return refuse(written.error);
    return c.json(written.value.record, written.value.created ? 201 : 200);
  },
);

/** Sessions told at once when an app is removed: enough to be quick, few enough for the Worker's limits. */
const REMOVAL_BATCH = 50;

/**
 * Ends the removed app's sessions: every one is told (appRemoved: data_cleared, then each socket
 * closes), a batch at a time; one failing does not stop the others (it is logged by count: its
 * sockets' registration is gone, so they can start nothing, see docs/security.md).
 */
async function endSessions(env: Env, objectIds: readonly string[]): Promise<void> {
  let failed = 0;
  for (let i = 0; i < objectIds.length; i += REMOVAL_BATCH) {
    const batch = objectIds.slice(i, i + REMOVAL_BATCH).map((id) => userSessionById(env, id).appRemoved());
    failed += (await Promise.allSettled(batch)).filter((r) => r.status === "rejected").length;
  }
  if (failed > 0) console.warn("app removal: sessions not told", { failed, of: objectIds.length });
}

// Removing an app ends its sessions, idle ones included, and deletes their data (as
// disconnect(clearSavedData: true)).
admin.openapi(
  createRoute(adminRoute({
    method: "delete",
    path: "/v1/apps/{appId}",
    operationId: "deleteApp",
    summary: "Remove an app: its sessions end with their data cleared, its tenant keys stop working",
    middleware: [requireAdmin, validPath(AppParams)] as const,
    request: { params: AppParams },
    responses: { 204: { description: "Removed" }, ...errors(400, 401, 404, 503) },
  })),
  async (c) => {
    const { appId } = c.req.valid("param");
    const sessions = await apps(c.env).removeApp(appId);
    if (sessions === null) return refuse(kaleyraError("app_id_invalid"));
    await endSessions(c.env, sessions);
    return c.body(null, 204);
  },
);

admin.openapi(
  createRoute(adminRoute({
    method: "post",
    path: "/v1/apps/{appId}/tenant-keys",
    operationId: "createTenantKey",
    summary: "Create a tenant API key, shown once; past two live keys the oldest is revoked (rotation)",
    middleware: [requireAdmin, validPath(AppParams)] as const,
    request: { params: AppParams },
    responses: { 201: json(TenantKeyCreatedSchema, "The new key (only its hash is kept)"), ...errors(400, 401, 404, 503) },
  })),
  async (c) => {
    const { appId } = c.req.valid("param");
    const created = await newTenantKey();
    const keys = await appState(c.env, appId).addTenantKey(created.id, created.hash);
    if (keys === null) return refuse(kaleyraError("app_id_invalid"));
    const createdAt = keys.find((k) => k.id === created.id)?.createdAt ?? Date.now();
    return c.json({ id: created.id, key: created.key, createdAt, keys }, 201);
  },
);

admin.openapi(
  createRoute(adminRoute({
    method: "get",
    path: "/v1/apps/{appId}/tenant-keys",
    operationId: "listTenantKeys",
    summary: "List an app's live tenant keys (ids and creation times, never the keys)",
    middleware: [requireAdmin, validPath(AppParams)] as const,
    request: { params: AppParams },
    responses: { 200: json(TenantKeyListSchema, "The live keys"), ...errors(400, 401, 404, 503) },
  })),
  async (c) => {
    const { appId } = c.req.valid("param");
    if ((await appState(c.env, appId).getApp()) === null) return refuse(kaleyraError("app_id_invalid"));
    return c.json({ keys: await appState(c.env, appId).listTenantKeys() }, 200);
  },
);

admin.openapi(
  createRoute(adminRoute({
    method: "delete",
    path: "/v1/apps/{appId}/tenant-keys/{keyId}",
    operationId: "revokeTenantKey",
    summary: "Revoke a tenant key at once",
    middleware: [requireAdmin, validPath(KeyParams)] as const,
    request: { params: KeyParams },
    responses: { 204: { description: "Revoked" }, ...errors(400, 401, 404, 503) },
  })),
  async (c) => {
    const { appId, keyId } = c.req.valid("param");
    return (await appState(c.env, appId).revokeTenantKey(keyId)) ? c.body(null, 204) : refuse(kaleyraError("tenant_key_unknown"));
  },
);
