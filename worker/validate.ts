/**
 * Request validation with the API's zod schemas (worker/openapi-schemas.ts), answering every
 * refusal in the one error shape: `bad_request` with the field that was wrong (`body` when the
 * body is not JSON or not an object; `retryPolicy.jitterMaxMs`, `tier`, `limit`, ... otherwise).
 * Bodies are read as JSON whatever their Content-Type (curl's -d sends a form type), so a route
 * validates exactly what it received.
 */
import type { OpenAPIHono, RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { kaleyraError, type KaleyraError } from "../core/errors";
import type { Env } from "./env";
import { errorResponse } from "./errors";

type Issue = z.core.$ZodIssue;

/** The field an issue names, as core's parsers name fields: `a.b[0]`, an unknown key by its name. */
export function issueField(issue: Issue, root: string): string {
  const path: PropertyKey[] = [...issue.path];
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  let field = "";
  for (const part of path) field += typeof part === "number" ? `[${part}]` : field === "" ? String(part) : `.${String(part)}`;
  return field === "" ? root : field;
}

export function validationError(issues: readonly Issue[], root: string): KaleyraError {
  const first = issues[0];
  return kaleyraError("bad_request", first === undefined ? root : issueField(first, root));
}

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
      } catch {
        return errorResponse(kaleyraError("bad_request", "body"));
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
