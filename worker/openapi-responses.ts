/** Response entries of the API's route definitions: JSON bodies and the shared error shape. */
import type { z } from "@hono/zod-openapi";
import { ErrorSchema } from "./openapi-schemas";

export function json(schema: z.ZodType, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** The statuses a route may refuse with, each `{ error: { code, message, field?, details? } }`. */
export function errors(...statuses: number[]) {
  const what: Record<number, string> = {
    400: "bad_request: message, field and details say what is wrong; or another 400 code",
    401: "unauthorized / tenant_unauthorized",
    404: "app_id_invalid, tenant_key_unknown or not_found",
    409: "ticket_secret_missing or tickets_disabled",
    413: "bad_request on field body: the body is over the route's limit (64 KiB admin, 4 KiB tenant)",
    503: "admin_disabled: no ADMIN_TOKEN is set",
  };
  return Object.fromEntries(statuses.map((s) => [s, json(ErrorSchema, what[s] ?? "an error")]));
}
