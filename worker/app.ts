/**
 * The Worker's HTTP surface. Every error, including unknown routes and unexpected failures, is
 * `{ error: { code, message, field? } }`. Logs carry the method and path only: never headers
 * (the admin token) nor the query (access links are bearer secrets).
 */
import { Hono } from "hono";
import { kaleyraError } from "../core/errors";
import { admin } from "./admin";
import type { Env } from "./env";
import { errorResponse } from "./errors";
import { socket } from "./socket";
import { webhooks } from "./webhooks";

export const app = new Hono<{ Bindings: Env }>();

app.get("/healthz", (c) => c.json({ ok: true }));
app.route("/", socket);
app.route("/v1/apps", admin);
app.route("/", webhooks);

app.notFound(() => errorResponse(kaleyraError("not_found")));

app.onError((err, c) => {
  console.error(`${c.req.method} ${c.req.path} failed: ${err instanceof Error ? err.message : String(err)}`);
  return errorResponse(kaleyraError("internal_error"));
});
