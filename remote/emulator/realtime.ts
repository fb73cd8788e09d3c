/**
 * The realtime session endpoint. Kaleyra does not publish its realtime protocol; this is a small
 * invented stand-in (docs/remote.md) that judges credentials the way Kaleyra's clients report it,
 * with Kaleyra's error names. A session opened with a token ends when the token expires; one opened
 * with an access link ends when the room ends.
 * Check order for a token: app, signature and shape, expiry, user claims, user exists, user active.
 */
import { Hono } from "hono";
import { USER_ID_PATTERN } from "../../core/protocol";
import { verifyHs256 } from "../jwt";
import { errorJson, iso, jsonObject, type EmulatorEnv, type EmulatorHost } from "./http";
import { EMULATOR_ISSUER } from "./rest";
import { randomCode, type SessionRow } from "./store";

const LINK_CODE = /\/direct-rest-call-handler\/([A-Za-z0-9_-]{1,64})\/?$/;

export function sessionJson(s: SessionRow) {
  return {
    session_id: s.session_id,
    app_id: s.app_id,
    user_id: s.user_id,
    kind: s.kind,
    ...(s.room_id === null ? {} : { room_id: s.room_id }),
    ...(s.expires_at === null ? {} : { expires_at: s.expires_at }),
  };
}

export function realtimeRoutes(host: EmulatorHost): Hono<EmulatorEnv> {
  const { store } = host;
  const realtime = new Hono<EmulatorEnv>();

  realtime.post("/v1/sessions", async (c) => {
    const body = await jsonObject(c, ["app_id", "user_id", "access_token", "access_link"]);
    if (!body.ok) return body.response;
    const { app_id, user_id, access_token, access_link } = body.value;
    if (typeof app_id !== "string") return errorJson(c, 400, "bad_request", "app_id must be a string", "app_id");
    if ((access_token === undefined) === (access_link === undefined)) {
      return errorJson(c, 400, "bad_request", "send exactly one of access_token and access_link", "body");
    }
    if (access_token !== undefined && typeof access_token !== "string") return errorJson(c, 400, "bad_request", "access_token must be a string", "access_token");
    if (access_link !== undefined && typeof access_link !== "string") return errorJson(c, 400, "bad_request", "access_link must be a string", "access_link");
    if (user_id !== undefined && (access_token === undefined || typeof user_id !== "string" || !USER_ID_PATTERN.test(user_id))) {
      return errorJson(c, 400, "bad_request", "user_id is a user id, sent only with access_token", "user_id");
    }
    const app = store.app(app_id);
    if (!app) return errorJson(c, 404, "app_id_invalid", "no app has this app_id");
    const now = host.now();

    let session: SessionRow;
    if (typeof access_token === "string") {
      const verified = await verifyHs256(access_token, app.signing_secret);
      if (!verified.ok) return errorJson(c, 401, "access_token_invalid", `the access token is not valid for this app (${verified.reason})`);
      const { user, companyId, iat, exp, iss, sub } = verified.claims;
      if (typeof user !== "string" || typeof companyId !== "string" || !isSeconds(iat) || !isSeconds(exp) || iss !== EMULATOR_ISSUER || typeof sub !== "string") {
        return errorJson(c, 401, "access_token_invalid", "the access token lacks a claim or has a wrong one");
      }
      if (companyId !== app.company_id) return errorJson(c, 401, "access_token_invalid", "the access token belongs to another company");
      if (Math.floor(now / 1000) >= exp) return errorJson(c, 401, "access_token_expired", "the access token has expired");
      if (sub !== `${user}#${companyId}` || (user_id !== undefined && user_id !== user)) {
        return errorJson(c, 401, "access_token_invalid_user", "the access token belongs to another user");
      }
      const row = store.user(app.app_id, user);
      if (!row) return errorJson(c, 404, "user_not_found", "the token's user does not exist");
      if (row.active !== 1) return errorJson(c, 403, "user_inactive", "the user is deactivated");
      session = newSession(app.app_id, user, "token", null, exp * 1000, now);
    } else {
      const code = linkCode(access_link as string);
      const participant = code === undefined ? undefined : store.participantByCode(app.app_id, code);
      const room = participant && store.room(app.app_id, participant.room_id);
      if (!participant || !room || room.ended_at !== null) return errorJson(c, 404, "invalid_access_link", "the access link is unknown or its room has ended");
      if (store.user(app.app_id, participant.user_id)?.active !== 1) return errorJson(c, 403, "user_inactive", "the user is deactivated");
      session = newSession(app.app_id, participant.user_id, "access_link", room.room_id, null, now);
    }
    store.insertSession(session);
    return c.json(sessionJson(session));
  });

  realtime.get("/v1/sessions/:sessionId", (c) => {
    const s = store.session(c.req.param("sessionId"));
    if (!s || s.closed_at !== null) return errorJson(c, 404, "session_not_found", "no open session has this id");
    if (store.user(s.app_id, s.user_id)?.active !== 1) return errorJson(c, 403, "user_inactive", "the user is deactivated");
    if (s.room_id !== null && store.room(s.app_id, s.room_id)?.ended_at !== null) {
      return errorJson(c, 404, "invalid_access_link", "the room of this session has ended");
    }
    if (s.expires_at !== null && host.now() >= s.expires_at) return errorJson(c, 401, "access_token_expired", `the access token expired at ${iso(s.expires_at)}`);
    return c.json(sessionJson(s));
  });

  realtime.delete("/v1/sessions/:sessionId", (c) => {
    const s = store.session(c.req.param("sessionId"));
    if (!s) return errorJson(c, 404, "session_not_found", "no session has this id");
    store.closeSession(s.session_id, host.now());
    return c.body(null, 204);
  });

  return realtime;
}

function newSession(appId: string, userId: string, kind: "token" | "access_link", roomId: string | null, expiresAt: number | null, now: number): SessionRow {
  return { session_id: `rs_${randomCode(18)}`, app_id: appId, user_id: userId, kind, room_id: roomId, expires_at: expiresAt, created_at: now, closed_at: null };
}

function isSeconds(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function linkCode(link: string): string | undefined {
  if (link.length > 2_048) return undefined;
  try {
    return LINK_CODE.exec(new URL(link).pathname)?.[1];
  } catch {
    return undefined;
  }
}
