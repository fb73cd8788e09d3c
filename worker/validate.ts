/**
 * Request validation with the API's zod schemas (worker/openapi-schemas.ts), answering every
 * refusal in the one error shape: `bad_request` whose message says what is wrong, `details` with
 * every reason (`[{ field, reason }]`, worker/validation-reasons.ts) and `field`, the first
 * detail's (`body` when the body is not JSON or not an object; `retryPolicy.jitterMaxMs`,
 * `limit`, an unknown key's name, ... otherwise). Bodies are read as JSON whatever their
 * Content-Type (curl's -d sends a form type), so a route validates exactly what it received.
 */
import { z, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { invalidInput, type ErrorDetail, type KaleyraError } from "../core/errors";
import type { Env } from "../durable-objects";
import { errorResponse } from "./errors";
import { reasonOf } from "./validation-reasons";

// Global to zod in this Worker, because @hono/zod-openapi validates params and queries itself and
// hands defaultHook finished issues: only the global map reaches those messages. A message the
// schema sets itself still wins.
z.config({ customError: reasonOf });

type Issue = z.core.$ZodIssue;

/** The field an issue names, as core's parsers name fields: `a.b[0]`, an unknown key by its name. */
function issueField(issue: Issue, root: string): string {
  const path: PropertyKey[] = [...issue.path];
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  let field = "";
  for (const part of path) field += typeof part === "number" ? `[${part}]` : field === "" ? String(part) : `.${String(part)}`;
  return field === "" ? root : field;
}

/** At most this many details per answer: a body of 10,000 wrong items gets a bounded answer. */
const MAX_DETAILS = 20;

/** Every reason of the issues, an unknown key's first (a typo'd key also makes its right name missing). */
function validationError(issues: readonly Issue[], root: string): KaleyraError {
  const details: ErrorDetail[] = [];
  const ordered = [...issues.filter((i) => i.code === "unrecognized_keys"), ...issues.filter((i) => i.code !== "unrecognized_keys")];
  for (const issue of ordered) {
    if (issue.code !== "unrecognized_keys") details.push({ field: issueField(issue, root), reason: issue.message });
    else for (const key of issue.keys) details.push({ field: issueField({ ...issue, keys: [key] }, root), reason: issue.message });
  }
  const [first, ...rest] = details.slice(0, MAX_DETAILS);
  return invalidInput("bad_request", [first ?? { field: root, reason: "is invalid" }, ...rest]);
}

/** A body over a route's size limit (413). */
export const bodyTooLarge = (maxBytes: number) => invalidInput("bad_request", [{ field: "body", reason: `must be at most ${maxBytes / 1024} KiB` }]);

/** The OpenAPIHono hook for params and query: the same error shape as every other refusal. */
export function defaultHook(result: { success: boolean; error?: { issues: readonly Issue[] }; target: string }): Response | undefined {
  if (result.success) return undefined;
  return errorResponse(validationError(result.error?.issues ?? [], result.target));
}

/**
 * An error answer from a typed route handler. Typed `never` because @hono/zod-openapi types a
 * handler's answers by the route's success schemas; the error shape is declared in the route's
 * responses (worker/openapi-responses.ts) and is the same for every route.
 */
export function refuse(error: KaleyraError): never {
  return errorResponse(error) as never;
}

/** Checks the path before the body is read, so a client sees the first thing to fix. */
export function validPath(schema: z.ZodType) {
  return createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const parsed = schema.safeParse(c.req.param());
    if (!parsed.success) return errorResponse(validationError(parsed.error.issues, "path"));
    await next();
  });
}

const BODY = "validatedBody";

/**
 * Parses the body as JSON and validates it with `schema`; the handler reads it with bodyOf(c).
 * `emptyAs`: the value an empty body stands for (routes whose body is optional).
 */
export function jsonBody(schema: z.ZodType, emptyAs?: unknown) {
  return createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const text = await c.req.text();
    let raw: unknown = emptyAs;
    if (text.trim() !== "" || emptyAs === undefined) {
      try {
        raw = JSON.parse(text);
      } catch (error) {
        // V8's message quotes the body, which may hold a secret: only the position is kept.
        const at = /position \d+/.exec(String(error))?.[0];
        const reason = text.trim() === "" ? "is empty: send a JSON object" : `is not valid JSON${at === undefined ? "" : ` (at ${at})`}`;
        return errorResponse(invalidInput("bad_request", [{ field: "body", reason }]));
      }
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) return errorResponse(validationError(parsed.error.issues, "body"));
    c.set(BODY as never, parsed.data as never);
    await next();
  });
}

export function bodyOf<S extends z.ZodType>(c: Context, _schema: S): z.output<S> {
  return c.get(BODY as never) as z.output<S>;
}

/**
 * For a route with a JSON body: registers its whole definition (body included) in the document,
 * and returns the definition for the router without `request.body` and hidden from the document,
 * because jsonBody (in the route's middleware) validates that body with the same schema. The
 * library's own body validator would refuse a body sent without a JSON Content-Type (415), which
 * the API has always accepted.
 */
export function bodyRoute<R extends RouteConfig & { request: { body: unknown } }>(app: Pick<OpenAPIHono, "openAPIRegistry">, route: R): Omit<R, "request"> & { request: Omit<R["request"], "body">; hide: true } {
  const { middleware: _middleware, ...documented } = route;
  app.openAPIRegistry.registerPath(documented as RouteConfig);
  const { body: _body, ...request } = route.request;
  return { ...route, request, hide: true } as unknown as Omit<R, "request"> & { request: Omit<R["request"], "body">; hide: true };
}
