/** What the admin and tenant routers share: a route's tag and security scheme, the body limit, the app path. */
import { z, type RouteConfig } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "./errors";
import { AppIdParam } from "./openapi-schemas";
import { bodyTooLarge } from "./validate";

/** A route of one API: its tag and security scheme in the document. */
export const apiRoute =
  (tag: "admin" | "tenant", scheme: "adminToken" | "tenantKey") =>
  <const R extends Omit<RouteConfig, "tags" | "security">>(route: R) => ({ ...route, tags: [tag], security: [{ [scheme]: [] }] });

/** Bodies over `maxBytes` are refused (413, `bad_request` on field body) before they are read. */
export const limitBody = (maxBytes: number) => bodyLimit({ maxSize: maxBytes, onError: () => errorResponse(bodyTooLarge(maxBytes), 413) });

export const AppParams = z.object({ appId: AppIdParam });
