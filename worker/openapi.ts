/**
 * /openapi.json: the OpenAPI 3.1 document of the whole HTTP surface. The admin and tenant routes
 * are described by the same route definitions and zod schemas that validate them; the routes
 * whose handlers live elsewhere (health, the socket upgrade, Kaleyra's webhooks) are described
 * here, beside the schemas they answer with. worker/openapi.test.ts checks that every route that
 * exists is in the document and nothing else is.
 */
import { LINK_DIGEST_PATTERN } from "../core/access-link";
import { ENVIRONMENTS, REGIONS } from "../core/app";
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { ERROR_STATUS } from "./errors";
import { errors, json } from "./openapi-responses";
import { AppIdParam, ErrorSchema, WebhookSchema } from "./openapi-schemas";

export const OPENAPI_PATH = "/openapi.json";

const SOCKET_CLOSE_CODES = Object.entries(ERROR_STATUS)
  .filter(([, status]) => status >= 400 && status < 500)
  .map(([code, status]) => `${4000 + status} ${code}`)
  .join(", ");

export function describeOtherRoutes(app: Pick<OpenAPIHono, "openAPIRegistry">): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN." });
  registry.registerComponent("securitySchemes", "tenantKey", { type: "http", scheme: "bearer", description: "An app's tenant key (kte_…), from POST /v1/apps/{appId}/tenant-keys." });

  registry.registerPath({
    method: "get",
    path: "/healthz",
    summary: "Liveness",
    responses: { 200: json(z.object({ ok: z.literal(true) }), "The Worker answers") },
  });

  registry.registerPath({
    method: "get",
    path: OPENAPI_PATH,
    summary: "This document",
    responses: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } } },
  });

  registry.registerPath({
    method: "get",
    path: "/v1/apps/{appId}/socket",
    tags: ["clients"],
    summary: "A client's WebSocket to its session (docs/protocol.md). Other methods answer 426.",
    description:
      "Upgrade only. The query carries the client's configuration (environment, region) and exactly one of userId " +
      "(a token session) or link, the SHA-256 of the canonical access link (the link itself never goes in a URL: " +
      "accessLink is refused with link_in_url). The first frame is auth_required: the socket proves itself before " +
      "anything else (docs/protocol.md, Attach handshake). A refused upgrade is accepted and then closed after one " +
      `error frame, with close code 4000 + the HTTP status of its code: ${SOCKET_CLOSE_CODES}. Limits close only ` +
      "the offending socket: 1009 frame_too_large, 4429 rate_limited, 4401 auth_timeout (no proof within 30 s) or " +
      "auth_required (an unproven socket pushed out); 4404 when the app is removed.",
    request: {
      params: z.object({ appId: AppIdParam }),
      query: z.object({
        environment: z.enum(ENVIRONMENTS),
        region: z.enum(REGIONS),
        userId: z.string().optional().openapi({ description: "For a token session." }),
        link: z.string().regex(LINK_DIGEST_PATTERN).optional().openapi({ description: "For an access-link session: lower-case hex SHA-256 of the canonical link (core/access-link.ts)." }),
      }),
    },
    responses: {
      101: { description: "Switching protocols: the session's socket (or a refusal socket, see the close codes)" },
      426: json(ErrorSchema, "upgrade_required: not a WebSocket upgrade"),
    },
  });

  registry.registerPath({
    method: "post",
    path: "/v1/webhooks/kaleyra/{appId}",
    tags: ["kaleyra"],
    summary: "Kaleyra's signed webhooks (bandyer-signature, HMAC with the app's API key)",
    request: {
      params: z.object({ appId: AppIdParam }),
      headers: z.object({ "bandyer-signature": z.string().openapi({ example: "t=1700000000,v0=…" }) }),
      body: { content: { "application/json": { schema: WebhookSchema } }, required: true },
    },
    responses: {
      200: json(z.object({ ok: z.literal(true), handled: z.string().optional(), ignored: z.string().optional() }), "Applied, or acknowledged and ignored"),
      ...errors(400, 413),
      401: json(ErrorSchema, "signature_invalid or signature_stale"),
      404: json(ErrorSchema, "app_id_invalid"),
      409: json(ErrorSchema, "webhook_replayed"),
    },
  });
}

export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "kaleyra-edge",
    version: "1",
    description:
      "Session orchestrator for Kaleyra Video. Every error is { error: { code, message, field? } } (core/errors.ts). " +
      "Admin routes take the operator's ADMIN_TOKEN; tenant routes take the app's tenant key.",
  },
};
