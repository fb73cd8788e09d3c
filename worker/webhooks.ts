/**
 * Kaleyra's webhooks: `POST /v1/webhooks/kaleyra/:appId`, signed with the app's API key
 * (`bandyer-signature`, see remote/signature.ts). Checks, in order: body size, app and API key and
 * signature (an unknown app, an app without a key, a malformed or mismatching signature all get the
 * same signature_invalid, so the route does not reveal which apps exist; more than 5 min off ->
 * signature_stale), replay (the same signed timestamp and MAC again, however the header is
 * spelled -> webhook_replayed), then the payload. A refused webhook changes nothing. Handlers are idempotent, so a duplicate or
 * reordered delivery is harmless. Unknown events are acknowledged and ignored (Kaleyra sends many).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { isAppId } from "../core/app";
import { kaleyraError } from "../core/errors";
import { isUserId } from "../core/protocol";
import { sessionObjectName } from "../durable-objects/session-route";
import { DEFAULT_SIGNATURE_TOLERANCE_SEC, SIGNATURE_HEADER, verifyWebhookSignature } from "../remote/signature";
import type { Env } from "./env";
import { errorResponse } from "./errors";
import { appRegistry } from "./registry";

const MAX_WEBHOOK_BYTES = 64 * 1024;
const ROOM_ID = /^[A-Za-z0-9_-]{1,128}$/;

export const webhooks = new Hono<{ Bindings: Env }>();

webhooks.post(
  "/v1/webhooks/kaleyra/:appId",
  bodyLimit({ maxSize: MAX_WEBHOOK_BYTES, onError: () => errorResponse(kaleyraError("bad_request", "body"), 413) }),
  async (c) => {
    const appId = c.req.param("appId");
    const registry = await appRegistry(c.env);
    const apiKey = isAppId(appId) ? (await registry.getAppSecrets(appId))?.kaleyraApiKey : undefined;
    const raw = await c.req.text();
    if (apiKey === undefined) return errorResponse(kaleyraError("signature_invalid"));
    const check = await verifyWebhookSignature(apiKey, c.req.header(SIGNATURE_HEADER) ?? null, raw, { nowSec: Date.now() / 1_000 });
    if (!check.ok) return errorResponse(kaleyraError(check.reason === "stale" ? "signature_stale" : "signature_invalid"));
    const nowSec = Math.floor(Date.now() / 1_000);
    const signature = check.delivery;
    if (!(await registry.markWebhookSeen(appId, signature, check.timestampSec, nowSec - 2 * DEFAULT_SIGNATURE_TOLERANCE_SEC))) {
      return errorResponse(kaleyraError("webhook_replayed"));
    }

    const payload = parsePayload(raw, appId);
    if (!payload.ok) return errorResponse(kaleyraError("bad_request", payload.field));
    try {
      switch (payload.event) {
        case "on_user_deactivated": {
          const name = await sessionObjectName(appId, { kind: "token", userId: payload.id });
          await c.env.USER_SESSION.get(c.env.USER_SESSION.idFromName(name)).userDeactivated(payload.at);
          break;
        }
        case "on_room_ended":
          for (const objectId of await registry.takeRoomSessions(appId, payload.id)) {
            await c.env.USER_SESSION.get(c.env.USER_SESSION.idFromString(objectId)).callEnded();
          }
          break;
        default:
          return c.json({ ok: true, ignored: payload.event });
      }
    } catch (err) {
      // Not applied: the sender's retry of this same delivery must not be refused as a replay.
      await registry.forgetWebhook(appId, signature);
      throw err;
    }
    return c.json({ ok: true, handled: payload.event });
  },
);

type Payload = { ok: true; event: string; id: string; at?: number } | { ok: false; field: string };

function parsePayload(raw: string, appId: string): Payload {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { ok: false, field: "body" };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { ok: false, field: "body" };
  const { event, app_id, data } = body as Record<string, unknown>;
  if (typeof event !== "string" || event.length > 64) return { ok: false, field: "event" };
  if (app_id !== appId) return { ok: false, field: "app_id" };
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  if (event === "on_user_deactivated") {
    if (!isUserId(d.user_id)) return { ok: false, field: "data.user_id" };
    // When Kaleyra deactivated the user: a retried delivery must not end a newer session.
    const at = typeof d.deactivated_at === "string" ? Date.parse(d.deactivated_at) : NaN;
    return Number.isFinite(at) ? { ok: true, event, id: d.user_id, at } : { ok: true, event, id: d.user_id };
  }
  if (event === "on_room_ended") {
    return typeof d.room_id === "string" && ROOM_ID.test(d.room_id) ? { ok: true, event, id: d.room_id } : { ok: false, field: "data.room_id" };
  }
  return { ok: true, event, id: "" };
}
