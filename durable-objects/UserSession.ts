// Placeholder: being written now (session engine owner). Do not edit.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";
export class UserSession extends DurableObject<Env> {
  override async fetch(_request: Request): Promise<Response> {
    return new Response("not yet", { status: 501 });
  }
}
