/**
 * The legacy REST stand-in for the realtime connection (`/realtime/v1/sessions`): Kaleyra has no
 * such endpoint. The production adapter still uses it until sessions move to the Socket.IO
 * endpoint (socket.ts); then it goes. Credentials are judged as there (credentials.ts). A session opened with a token ends when the token expires; one opened
 * with an access link ends when the room ends.
 * Check order: app, then credentials.ts.
 */
import { Hono } from "hono";
import { USER_ID_PATTERN } from "../../core/protocol";
import { judgeLink, judgeToken, type JudgedError } from "./credentials";
import { errorJson, iso, jsonObject, type EmulatorEnv, type EmulatorHost } from "./http";
import { randomCode, type SessionRow } from "./store";

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

    const judged = typeof access_token === "string" ? await judgeToken(store, app, access_token, user_id as string | undefined, now) : judgeLink(store, app, access_link as string);
    if (!judged.ok) {
      const [status, name] = REST_ANSWER[judged.name];
      return errorJson(c, status, name, judged.message);
    }
    const session = newSession(app.app_id, judged.userId, judged.kind, judged.roomId, judged.expiresAt, now);
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

/** The stand-in's status and error name for each judgement (a bad signature was always "invalid" here). */
const REST_ANSWER: Record<JudgedError, [401 | 403 | 404, string]> = {
  access_token_invalid: [401, "access_token_invalid"],
  access_token_invalid_signature: [401, "access_token_invalid"],
  access_token_expired: [401, "access_token_expired"],
  access_token_invalid_user: [401, "access_token_invalid_user"],
  user_not_found: [404, "user_not_found"],
  user_inactive: [403, "user_inactive"],
  invalid_access_link: [404, "invalid_access_link"],
};
