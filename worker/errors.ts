/**
 * The one shape of every HTTP error: `{ error: { code, message, field? } }`, with the status that
 * the code usually means. A route passes another status only where the code is shared (413).
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode, KaleyraError } from "../core/errors";

export const ERROR_STATUS = {
  bad_request: 400,
  not_configured: 400,
  unauthorized: 401,
  origin_not_allowed: 403,
  rate_limited: 429,
  too_many_sockets: 429,
  too_many_sessions: 429,
  signature_invalid: 401,
  signature_stale: 401,
  webhook_replayed: 409,
  app_id_invalid: 404,
  not_found: 404,
  upgrade_required: 426,
  internal_error: 500,
  admin_disabled: 503,
  tenant_unauthorized: 401,
  tenant_key_unknown: 404,
  ticket_secret_missing: 409,
  tickets_disabled: 409,
} as const satisfies Partial<Record<ErrorCode, ContentfulStatusCode>>;

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return (ERROR_STATUS as Partial<Record<ErrorCode, ContentfulStatusCode>>)[code] ?? 400;
}

export function errorResponse(error: KaleyraError, status: ContentfulStatusCode = statusOf(error.code), headers?: HeadersInit): Response {
  return Response.json({ error }, { status, headers });
}
