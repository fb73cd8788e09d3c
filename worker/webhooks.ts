/**
 * Kaleyra's webhooks: `POST /v1/webhooks/kaleyra/:appId`, signed with the app's API key.
 * v1 (`bandyer-signature`, see crypto/signature.ts) checks, in order: body size, the MAC with the
 * app's API key, then freshness (more than 5 min off -> signature_stale, which only a holder of
 * the key can reach), replay (the same signed timestamp and MAC again, however the header is
 * spelled -> webhook_replayed), then the payload (core/kaleyra-webhook.ts).
 * The route does not tell which apps exist: an unknown app, an app without a key, a malformed or
 * mismatching signature all get the same signature_invalid (status, body and headers), and an
 * unknown app's delivery is checked against a key no app has, so it costs the same HMAC work.
 * v0 (`room-id-hmac`, only when no `bandyer-signature` is sent): the MAC covers the room id read from
 * the body, so the room id is read first (none -> signature_invalid); replay is the same event,
 * room and MAC again within 10 min (v0 has no timestamp: docs/security.md).
 * A refused webhook changes nothing. `on_session_ended`, `on_room_disabled`, `on_room_deleted` and
 * v0 `on_call_ended` end every access-link session in the room; v0 `on_call_incoming` may wake the
 * users the tenant said the room calls (docs/push.md; each session decides, one wake per call).
 * Handling is idempotent, so a duplicate or reordered delivery is harmless. Other events are
 * acknowledged and ignored.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { isAppId } from "../core/app";
import { kaleyraError } from "../core/errors";
import { parseV0Webhook, parseV1Webhook, type KaleyraWebhook } from "../core/kaleyra-webhook";
import { base64UrlEncode } from "../crypto/jwt";
import { DEFAULT_SIGNATURE_TOLERANCE_SEC, ROOM_ID_HMAC_HEADER, SIGNATURE_HEADER, verifyRoomIdHmac, verifyWebhookSignature } from "../crypto/signature";
import { apps, userSession, userSessionById, type Env } from "../durable-objects";
import { errorResponse } from "./errors";

const MAX_WEBHOOK_BYTES = 64 * 1024;

export const webhooks = new Hono<{ Bindings: Env }>();

/** A delivery whose signature checked: its name for the replay check, and when it was signed. */
type Authenticated = { ok: true; delivery: string; signedAtSec: number; v0?: KaleyraWebhook } | { ok: false; code: "signature_invalid" | "signature_stale" };

async function authenticate(apiKey: string, v1Header: string | undefined, v0Header: string | undefined, raw: string, nowSec: number): Promise<Authenticated> {
  if (v1Header !== undefined || v0Header === undefined) {
    const check = await verifyWebhookSignature(apiKey, v1Header ?? null, raw, { nowSec });
    if (!check.ok) return { ok: false, code: check.reason === "stale" ? "signature_stale" : "signature_invalid" };
    return { ok: true, delivery: check.delivery, signedAtSec: check.timestampSec };
  }
  const v0 = parseV0Webhook(raw);
  if (!v0) return { ok: false, code: "signature_invalid" };
  const check = await verifyRoomIdHmac(apiKey, v0Header, v0.roomId);
  if (!check.ok) return { ok: false, code: "signature_invalid" };
  // The MAC is the same for every v0 delivery about the room: the event is part of the name, so an
  // on_call_incoming does not make the call's on_call_ended look like its replay.
  return { ok: true, delivery: `v0.${v0.webhook.event}.${v0.roomId}.${check.mac}`, signedAtSec: Math.floor(nowSec), v0: v0.webhook };
}

/**
 * A random key of this isolate that no app has: a delivery for an app without a key is verified
 * against it, so its answer takes the time of a bad MAC (it can never match a real signature).
 */
let unknownAppKey: string | undefined;
const keyForUnknownApp = () => (unknownAppKey ??= base64UrlEncode(crypto.getRandomValues(new Uint8Array(32))));

webhooks.post(
  "/v1/webhooks/kaleyra/:appId",
  bodyLimit({ maxSize: MAX_WEBHOOK_BYTES, onError: () => errorResponse(kaleyraError("bad_request", "body"), 413) }),
  async (c) => {
    const appId = c.req.param("appId");
    const registry = apps(c.env);
    const apiKey = isAppId(appId) ? (await registry.getAppSecrets(appId))?.kaleyraApiKey : undefined;
    const raw = await c.req.text();
    const nowSec = Math.floor(Date.now() / 1_000);
    const check = await authenticate(apiKey ?? keyForUnknownApp(), c.req.header(SIGNATURE_HEADER), c.req.header(ROOM_ID_HMAC_HEADER), raw, Date.now() / 1_000);
    if (apiKey === undefined) return errorResponse(kaleyraError("signature_invalid"));
    if (!check.ok) return errorResponse(kaleyraError(check.code));
    const { delivery } = check;
    if (!(await registry.markWebhookSeen(appId, delivery, check.signedAtSec, nowSec - 2 * DEFAULT_SIGNATURE_TOLERANCE_SEC))) {
      return errorResponse(kaleyraError("webhook_replayed"));
    }

    let webhook = check.v0;
    if (webhook === undefined) {
      const parsed = parseV1Webhook(raw);
      if (!parsed.ok) return errorResponse(kaleyraError("bad_request", parsed.field));
      webhook = parsed.webhook;
    }
    if (webhook.action === "ignore") return c.json({ ok: true, ignored: webhook.event });
    const { roomId } = webhook;
    try {
      // Every session is told even if one call fails; a failure is the sender's to retry.
      const results =
        webhook.action === "wake_room_users"
          ? await Promise.allSettled((await registry.roomUsers(appId, roomId)).map((userId) => userSession(c.env, appId, { kind: "token", userId }).wakeUser(appId, userId, { kind: "call_incoming", roomId })))
          : await Promise.allSettled((await registry.takeRoomSessions(appId, roomId)).map((objectId) => userSessionById(c.env, objectId).callEnded()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    } catch (err) {
      // Not applied: the sender's retry of this same delivery must not be refused as a replay.
      await registry.forgetWebhook(appId, delivery);
      throw err;
    }
    return c.json({ ok: true, handled: webhook.event });
  },
);
