/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>`. The comparison hashes both sides
 * and compares the digests in constant time, so neither the token's content nor its length leaks
 * through timing. Nothing here logs the header.
 */
import { createMiddleware } from "hono/factory";
import { kaleyraError } from "../core/errors";
import type { Env } from "../durable-objects";
import { errorResponse } from "./errors";

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

/** The token of an `Authorization: Bearer <token>` header (the admin token, a tenant key). */
export function bearerToken(header: string | null | undefined): string | undefined {
  return header == null ? undefined : BEARER.exec(header)?.[1];
}

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** True when the Authorization header carries exactly the expected bearer token. */
async function isAdminAuthorization(header: string | null | undefined, expected: string): Promise<boolean> {
  const token = bearerToken(header);
  if (token === undefined) return false;
  const [given, wanted] = await Promise.all([sha256(token), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(given, wanted);
}

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  // An empty secret would make every empty token valid; treat it as no secret.
  if (expected === undefined || expected === "") return errorResponse(kaleyraError("admin_disabled"));
  if (!(await isAdminAuthorization(c.req.header("Authorization"), expected))) {
    return errorResponse(kaleyraError("unauthorized"), 401, { "WWW-Authenticate": 'Bearer realm="kaleyra-edge admin"' });
  }
  await next();
});
