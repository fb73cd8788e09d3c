/** The one shape of every HTTP error: `{ error: { code, message, field? } }`, with the status its code means (core/errors.ts). */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { statusOf, type KaleyraError } from "../core/errors";

export function errorResponse(error: KaleyraError, status = statusOf(error.code) as ContentfulStatusCode, headers?: HeadersInit): Response {
  return Response.json({ error }, { status, headers });
}
