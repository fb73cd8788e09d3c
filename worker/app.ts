/**
 * The Worker's HTTP surface. Every error, including unknown routes and unexpected failures, is
 * `{ error: { code, message, field? } }`. Logs carry the method and path only: never headers
 * (the admin token, tenant keys) nor the query (access links are bearer secrets).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { kaleyraError } from "../core/errors";
import { admin } from "./admin";
import type { Env } from "../durable-objects";
import { errorResponse } from "./errors";
import { describeOtherRoutes, openApiConfig, OPENAPI_PATH } from "./openapi";
import { socket } from "./socket";
import { tenant } from "./tenant";
import { defaultHook } from "./validate";
import { wake } from "./wake";
import { webhooks } from "./webhooks";

export const app = new OpenAPIHono<{ Bindings: Env }>({ defaultHook });

app.get("/healthz", (c) => c.json({ ok: true }));
app.route("/", socket);
app.route("/", admin);
app.route("/", tenant);
app.route("/", wake);
app.route("/", webhooks);
describeOtherRoutes(app);
app.doc31(OPENAPI_PATH, (c) => openApiConfig(c.req.url));

app.notFound(() => errorResponse(kaleyraError("not_found")));

app.onError((err, c) => {
  console.error(`${c.req.method} ${c.req.path} failed: ${err instanceof Error ? err.message : String(err)}`);
  return errorResponse(kaleyraError("internal_error"));
});
