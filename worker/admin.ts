/**
 * The admin API: register, read and remove apps. Every route checks, in order: the admin token,
 * the appId, then the body; a refused request changes nothing.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { isAppId, parseAppPut } from "../core/app";
import { kaleyraError } from "../core/errors";
import { requireAdmin } from "./auth";
import type { Env } from "./env";
import { errorResponse } from "./errors";
import { appRegistry } from "./registry";

export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

const requireAppId = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  if (!isAppId(c.req.param("appId"))) return errorResponse(kaleyraError("bad_request", "appId"));
  await next();
});

const limitBody = bodyLimit({
  maxSize: MAX_ADMIN_BODY_BYTES,
  onError: () => errorResponse(kaleyraError("bad_request", "body"), 413),
});

export const admin = new Hono<{ Bindings: Env }>();

admin.get("/:appId", requireAdmin, requireAppId, async (c) => {
  const record = await (await appRegistry(c.env)).getApp(c.req.param("appId"));
  return record === null ? errorResponse(kaleyraError("app_id_invalid")) : c.json(record);
});

admin.put("/:appId", requireAdmin, requireAppId, limitBody, async (c) => {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return errorResponse(kaleyraError("bad_request", "body"));
  }
  const put = parseAppPut(body, { allowLocalWebhooks: c.env.ALLOW_LOCAL_WEBHOOKS === "1" });
  if (!put.ok) return errorResponse(put.error);
  const written = await (await appRegistry(c.env)).putApp(c.req.param("appId"), put.value.settings, put.value.secrets);
  if (!written.ok) return errorResponse(written.error);
  return c.json(written.value.record, written.value.created ? 201 : 200);
});

// Removing an app ends its sessions and deletes their data (as disconnect(clearSavedData: true)).
admin.delete("/:appId", requireAdmin, requireAppId, async (c) => {
  const appId = c.req.param("appId");
  const registry = await appRegistry(c.env);
  if ((await registry.getApp(appId)) === null) return errorResponse(kaleyraError("app_id_invalid"));
  const sessions = await registry.takeAppSessions(appId);
  await registry.deleteApp(appId);
  await Promise.all(sessions.map((id) => c.env.USER_SESSION.get(c.env.USER_SESSION.idFromString(id)).appRemoved()));
  return c.body(null, 204);
});
