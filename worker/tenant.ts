/**
 * The tenant API: what an app's own backend may do with its tenant key
 * (`Authorization: Bearer kte_…`, created by the operator through the admin API): read its app's
 * settings, list its active sessions, read and end a user's session, mint attach tickets.
 * Invariants: a key reaches only the app whose AppState holds its hash (checked for every request,
 * before anything else is read); an unknown app, a malformed appId and a wrong key get the same
 * 401, so a key does not reveal which other apps exist; access links are never shown.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { isAppId } from "../core/app";
import { kaleyraError } from "../core/errors";
import { appState, userSession, type Env } from "../durable-objects";
import { bearerToken } from "./auth";
import { errorResponse } from "./errors";
import { errors, json } from "./openapi-responses";
import {
  AppIdParam,
  AppRecordSchema,
  EndSessionSchema,
  SessionDescriptionSchema,
  SessionListQuery,
  SessionPageSchema,
  TicketRequestSchema,
  TicketSchema,
  UserIdParam,
} from "./openapi-schemas";
import { hashTenantKey, TENANT_KEY_PATTERN } from "./tenant-keys";
import { AppParams, apiRoute, limitBody } from "./routes";
import { bodyOf, bodyRoute, defaultHook, jsonBody, refuse, validPath } from "./validate";

export const MAX_TENANT_BODY_BYTES = 4 * 1024;

export const requireTenant = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const appId = c.req.param("appId");
  const key = bearerToken(c.req.header("Authorization"));
  const valid = appId !== undefined && isAppId(appId) && key !== undefined && TENANT_KEY_PATTERN.test(key) && (await appState(c.env, appId).tenantKeyValid(await hashTenantKey(key)));
  if (!valid) return errorResponse(kaleyraError("tenant_unauthorized"), 401, { "WWW-Authenticate": 'Bearer realm="kaleyra-edge tenant"' });
  await next();
});

export const UserParams = z.object({ appId: AppIdParam, userId: UserIdParam });
export const tenantRoute = apiRoute("tenant", "tenantKey");

export const tenant = new OpenAPIHono<{ Bindings: Env }>({ defaultHook });

tenant.openapi(
  createRoute(tenantRoute({
    method: "get",
    path: "/v1/tenant/apps/{appId}",
    operationId: "tenantGetApp",
    summary: "Read the app's settings (secrets only as set / not set)",
    middleware: [requireTenant] as const,
    request: { params: AppParams },
    responses: { 200: json(AppRecordSchema, "The app"), ...errors(401) },
  })),
  async (c) => {
    const record = await appState(c.env, c.req.valid("param").appId).getApp();
    return record === null ? refuse(kaleyraError("tenant_unauthorized")) : c.json(record, 200);
  },
);

tenant.openapi(
  createRoute(tenantRoute({
    method: "get",
    path: "/v1/tenant/apps/{appId}/sessions",
    operationId: "tenantListSessions",
    summary: "List the app's active sessions (connecting, connected, reconnecting), a page at a time",
    middleware: [requireTenant] as const,
    request: { params: AppParams, query: SessionListQuery },
    responses: { 200: json(SessionPageSchema, "A page of sessions"), ...errors(400, 401) },
  })),
  async (c) => {
    const { status, cursor, limit } = c.req.valid("query");
    return c.json(await appState(c.env, c.req.valid("param").appId).listSessions(status, cursor, limit), 200);
  },
);

tenant.openapi(
  createRoute(tenantRoute({
    method: "get",
    path: "/v1/tenant/apps/{appId}/users/{userId}/session",
    operationId: "tenantGetSession",
    summary: "Read a user's session: its view (with lastError) and how many clients are attached",
    middleware: [requireTenant, validPath(UserParams)] as const,
    request: { params: UserParams },
    responses: { 200: json(SessionDescriptionSchema, "The session; a user without one is disconnected"), ...errors(400, 401) },
  })),
  async (c) => {
    const { appId, userId } = c.req.valid("param");
    return c.json(await userSession(c.env, appId, { kind: "token", userId }).describe(), 200);
  },
);

tenant.openapi(
  bodyRoute(tenant, tenantRoute({
    method: "post",
    path: "/v1/tenant/apps/{appId}/users/{userId}/session/end",
    operationId: "tenantEndSession",
    summary: "End a user's session, as disconnect(clearSavedData) (default true: its saved data is deleted)",
    middleware: [requireTenant, validPath(UserParams), limitBody(MAX_TENANT_BODY_BYTES), jsonBody(EndSessionSchema, {})] as const,
    request: { params: UserParams, body: { content: { "application/json": { schema: EndSessionSchema } }, required: false } },
    responses: { 200: json(SessionDescriptionSchema, "The session after the disconnect"), ...errors(400, 401, 413) },
  } as const)),
  async (c) => {
    const { appId, userId } = c.req.valid("param");
    const { clearSavedData } = bodyOf(c, EndSessionSchema);
    return c.json(await userSession(c.env, appId, { kind: "token", userId }).end(clearSavedData), 200);
  },
);

tenant.openapi(
  bodyRoute(tenant, tenantRoute({
    method: "post",
    path: "/v1/tenant/apps/{appId}/users/{userId}/tickets",
    operationId: "tenantCreateTicket",
    summary: "Mint an attach ticket for the user (HS256 with the app's attachTicketSecret)",
    middleware: [requireTenant, validPath(UserParams), limitBody(MAX_TENANT_BODY_BYTES), jsonBody(TicketRequestSchema, {})] as const,
    request: { params: UserParams, body: { content: { "application/json": { schema: TicketRequestSchema } }, required: false } },
    responses: { 201: json(TicketSchema, "The ticket"), ...errors(400, 401, 409, 413) },
  } as const)),
  async (c) => {
    const { appId, userId } = c.req.valid("param");
    const minted = await appState(c.env, appId).mintTicket(userId, bodyOf(c, TicketRequestSchema).ttlSeconds, Date.now() / 1_000);
    return minted.ok ? c.json(minted.value, 201) : refuse(minted.error);
  },
);
