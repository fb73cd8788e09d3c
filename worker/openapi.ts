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
import { ERROR_STATUS } from "../core/errors";
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
  // Kaleyra signs its webhooks with the app's Kaleyra API key (docs/remote.md, Webhooks): the
  // header carries a MAC, not a key, but apiKey-in-header is how OpenAPI names a signature header.
  registry.registerComponent("securitySchemes", "kaleyraSignature", {
    type: "apiKey",
    in: "header",
    name: "bandyer-signature",
    description:
      "Kaleyra's v1 webhook signature: `t=<unix seconds>,v0=<hex>` where v0 = hex(HMAC-SHA256(key: the app's Kaleyra API key, " +
      "message: `<t>.<raw body>`)). Refused with signature_invalid when it does not match (or the app has no API key) and " +
      "signature_stale when t is more than 5 minutes off; the same signed delivery twice is webhook_replayed.",
  });
  registry.registerComponent("securitySchemes", "kaleyraRoomIdHmac", {
    type: "apiKey",
    in: "header",
    name: "room-id-hmac",
    description:
      "Kaleyra's v0 webhook signature, used only when no bandyer-signature is sent: hex(HMAC-SHA256(key: the app's Kaleyra " +
      "API key, message: the body's room id)). It has no timestamp; a replay is the same event, room and MAC within 10 minutes.",
  });

  registry.registerPath({
    method: "get",
    path: "/healthz",
    operationId: "getHealth",
    summary: "Liveness",
    security: [],
    responses: { 200: json(z.object({ ok: z.literal(true) }), "The Worker answers") },
  });

  registry.registerPath({
    method: "get",
    path: OPENAPI_PATH,
    operationId: "getOpenApiDocument",
    summary: "This document",
    security: [],
    responses: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } } },
  });

  registry.registerPath({
    method: "get",
    path: "/v1/apps/{appId}/socket",
    operationId: "openSessionSocket",
    tags: ["clients"],
    // Public at the HTTP level: the socket proves its user in its first frames (auth_required).
    security: [],
    summary: "A client's WebSocket to its session (docs/protocol.md). Other methods answer 426.",
    description:
      "Upgrade only. The query carries the client's configuration (environment, region) and exactly one of userId " +
      "(a token session) or link, the SHA-256 of the canonical access link (the link itself never goes in a URL: " +
      "accessLink is refused with link_in_url). The first frame is auth_required: the socket proves itself before " +
      "anything else (docs/protocol.md, Attach handshake). A refused upgrade is accepted and then closed after one " +
      `error frame, with close code 4000 + the HTTP status of its code: ${SOCKET_CLOSE_CODES}. Limits close only ` +
      "the offending socket: 1009 frame_too_large, 4429 rate_limited, 4401 auth_timeout (no proof within 30 s) or " +
      "auth_required (an unproven socket pushed out); 4404 when the app is removed. No HTTP credentials: the socket proves " +
      "its user in-band (a resume credential, a tenant ticket, a Kaleyra token, or the access link).",
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
    operationId: "receiveKaleyraWebhook",
    tags: ["kaleyra"],
    summary: "Kaleyra's signed webhooks (bandyer-signature, HMAC with the app's API key)",
    security: [{ kaleyraSignature: [] }, { kaleyraRoomIdHmac: [] }],
    request: {
      params: z.object({ appId: AppIdParam }),
      body: { content: { "application/json": { schema: WebhookSchema } }, required: true },
    },
    responses: {
      200: json(z.object({ ok: z.literal(true), handled: z.string().optional(), ignored: z.string().optional() }), "Applied, or acknowledged and ignored"),
      ...errors(400, 413),
      401: json(ErrorSchema, "signature_invalid (also for an unknown app, or one without a Kaleyra API key) or signature_stale"),
      409: json(ErrorSchema, "webhook_replayed"),
    },
  });
}

const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "kaleyra-edge",
    version: "1",
    description:
      "Session orchestrator for Kaleyra Video. Every error is { error: { code, message, field?, details? } } (core/errors.ts); " +
      "a bad_request's message and details say what is wrong. " +
      "Admin routes take the operator's ADMIN_TOKEN; tenant routes take the app's tenant key.",
  },
};

/**
 * The document's configuration for one request: its one server is the origin the document was
 * fetched from, so it is right behind any custom domain or local port without configuration.
 */
export const openApiConfig = (requestUrl: string) => ({
  ...OPENAPI_INFO,
  servers: [{ url: new URL(requestUrl).origin, description: "This deployment: the one that served the document" }],
});
