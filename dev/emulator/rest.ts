/**
 * The emulated public REST API v2: users, SDK credentials, rooms; and the v1 room routes
 * (`/rest/room/disable|delete/:room_id`). The `apikey` header names the app; every route sees only
 * that app's data. Ending a room's call, disabling or deleting the room sends its webhook
 * (`on_session_ended`, `on_room_disabled`, `on_room_deleted`); deactivating a user sends none
 * (Kaleyra has no such event): its realtime connections get `user:force_disconnect`.
 * Invariant: a request refused with a 4xx changes nothing.
 */
import { Hono } from "hono";
import { USER_ID_PATTERN } from "../../core/protocol";
import { signHs256 } from "../../crypto/jwt";
import { errorJson, iso, jsonObject, type EmulatorEnv, type EmulatorHost } from "./http";
import { SOCKET_EVENTS } from "./socket";
import { randomCode, type AppRow, type ParticipantRow, type RoomRow, type UserRow } from "./store";
import { EMULATOR_ISSUER } from "./credentials";

const ROLES = ["plus", "basic"] as const;
const MIN_EXPIRES_IN_SEC = 360;
const MAX_EXPIRES_IN_SEC = 86_400;
const MAX_PAGE_LIMIT = 100;
const DEFAULT_PAGE_LIMIT = 20;
const MAX_PARTICIPANTS = 50;
/** The `iss` claim of every token, as in Kaleyra's tokens [doc]; realtime refuses tokens with another. */
/** Access links look like Kaleyra's sandbox links; the last path segment is the code. */
export const ACCESS_LINK_BASE = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/";

function userJson(u: UserRow) {
  return {
    user_id: u.user_id,
    role: u.role,
    name: u.name,
    active: u.active === 1,
    created_at: iso(u.created_at),
    updated_at: iso(u.updated_at),
  };
}

export function roomJson(room: RoomRow, participants: ParticipantRow[]) {
  return {
    room_id: room.room_id,
    status: room.ended_at === null ? "active" : "ended",
    created_at: iso(room.created_at),
    ended_at: room.ended_at === null ? null : iso(room.ended_at),
    participants: participants.map((p) => ({ user_id: p.user_id, access_link: p.access_link })),
  };
}

/** Routes that see only the app named by the `apikey` header. */
function withApiKey(store: EmulatorHost["store"]): Hono<EmulatorEnv> {
  const routes = new Hono<EmulatorEnv>();
  routes.use("*", async (c, next) => {
    const key = c.req.header("apikey");
    const app = key === undefined ? undefined : store.appByKey(key);
    if (!app) return errorJson(c, 401, "unauthorized", "send a valid API key in the 'apikey' header");
    c.set("app", app);
    await next();
  });
  return routes;
}

/** Ends the room's call if it runs: its links stop working, its access-link connections close. */
export function endCall(host: EmulatorHost, app: AppRow, room: RoomRow): RoomRow {
  if (room.ended_at !== null) return room;
  const ended: RoomRow = { ...room, ended_at: host.now() };
  host.store.endRoom(room.room_id, ended.ended_at as number);
  host.sockets.endRoom(app.app_id, room.room_id);
  return ended;
}

export function restRoutes(host: EmulatorHost): Hono<EmulatorEnv> {
  const { store } = host;
  const rest = withApiKey(store);

  rest.post("/users", async (c) => {
    const app = c.get("app");
    const body = await jsonObject(c, ["user_id", "role", "name"]);
    if (!body.ok) return body.response;
    const { user_id, role, name } = body.value;
    if (typeof user_id !== "string" || !USER_ID_PATTERN.test(user_id)) {
      return errorJson(c, 400, "bad_request", "user_id must be 1..128 letters, digits or _ . @ + -", "user_id");
    }
    if (!(ROLES as readonly unknown[]).includes(role)) return errorJson(c, 400, "bad_request", "role must be 'plus' or 'basic'", "role");
    if (name !== undefined && !isName(name)) return errorJson(c, 400, "bad_request", "name must be a string of 1..256 characters", "name");
    if (store.user(app.app_id, user_id)) return errorJson(c, 409, "user_already_exists", `user '${user_id}' already exists`, "user_id");
    const now = host.now();
    const user: UserRow = { app_id: app.app_id, user_id, role: role as string, name: name ?? null, active: 1, created_at: now, updated_at: now };
    store.insertUser(user);
    return c.json(userJson(user), 201);
  });

  rest.get("/users", (c) => {
    const offset = pageParam(c.req.query("offset"), 0, 0, 1_000_000);
    if (offset === undefined) return errorJson(c, 400, "bad_request", "offset must be an integer >= 0", "offset");
    const limit = pageParam(c.req.query("limit"), DEFAULT_PAGE_LIMIT, 1, MAX_PAGE_LIMIT);
    if (limit === undefined) return errorJson(c, 400, "bad_request", `limit must be an integer in 1..${MAX_PAGE_LIMIT}`, "limit");
    const page = store.users(c.get("app").app_id, offset, limit);
    return c.json({ users: page.users.map(userJson), total: page.total, offset, limit });
  });

  rest.get("/users/:userId", (c) => {
    const user = store.user(c.get("app").app_id, c.req.param("userId"));
    return user ? c.json(userJson(user)) : errorJson(c, 404, "user_not_found", "no such user");
  });

  rest.patch("/users/:userId", async (c) => {
    const app = c.get("app");
    const user = store.user(app.app_id, c.req.param("userId"));
    if (!user) return errorJson(c, 404, "user_not_found", "no such user");
    const body = await jsonObject(c, ["active", "role", "name"]);
    if (!body.ok) return body.response;
    const { active, role, name } = body.value;
    if (active === undefined && role === undefined && name === undefined) {
      return errorJson(c, 400, "bad_request", "send at least one of active, role, name", "body");
    }
    if (active !== undefined && typeof active !== "boolean") return errorJson(c, 400, "bad_request", "active must be a boolean", "active");
    if (role !== undefined && !(ROLES as readonly unknown[]).includes(role)) return errorJson(c, 400, "bad_request", "role must be 'plus' or 'basic'", "role");
    if (name !== undefined && name !== null && !isName(name)) {
      return errorJson(c, 400, "bad_request", "name must be null or a string of 1..256 characters", "name");
    }
    const now = host.now();
    const updated: UserRow = {
      ...user,
      active: active === undefined ? user.active : active ? 1 : 0,
      role: (role as string | undefined) ?? user.role,
      name: name === undefined ? user.name : (name as string | null),
      updated_at: now,
    };
    store.updateUser(updated);
    if (user.active === 1 && updated.active === 0) {
      host.sockets.emit(app.app_id, user.user_id, SOCKET_EVENTS.forceDisconnect, { reason: "user_disabled" });
    }
    return c.json(userJson(updated));
  });

  rest.post("/sdk/credentials", async (c) => {
    const app = c.get("app");
    const body = await jsonObject(c, ["user_id", "expires_in"]);
    if (!body.ok) return body.response;
    const { user_id, expires_in } = body.value;
    if (typeof user_id !== "string" || !USER_ID_PATTERN.test(user_id)) {
      return errorJson(c, 400, "bad_request", "user_id must be 1..128 letters, digits or _ . @ + -", "user_id");
    }
    if (!Number.isInteger(expires_in) || (expires_in as number) < MIN_EXPIRES_IN_SEC || (expires_in as number) > MAX_EXPIRES_IN_SEC) {
      return errorJson(c, 400, "bad_request", `expires_in must be an integer number of seconds in ${MIN_EXPIRES_IN_SEC}..${MAX_EXPIRES_IN_SEC}`, "expires_in");
    }
    if (!store.user(app.app_id, user_id)) return errorJson(c, 404, "user_not_found", `user '${user_id}' does not exist`, "user_id");
    const lifetime = store.faults().tokenLifetimeSec ?? (expires_in as number);
    const iat = Math.floor(host.now() / 1000);
    const exp = iat + lifetime;
    const access_token = await signHs256(tokenClaims(app, user_id, iat, exp), app.signing_secret);
    return c.json({ access_token, expires_at: iso(exp * 1000), user_id });
  });

  rest.post("/rooms", async (c) => {
    const app = c.get("app");
    const body = await jsonObject(c, ["participants"]);
    if (!body.ok) return body.response;
    const list = body.value.participants;
    if (!Array.isArray(list) || list.length < 1 || list.length > MAX_PARTICIPANTS) {
      return errorJson(c, 400, "bad_request", `participants must be a list of 1..${MAX_PARTICIPANTS} { user_id }`, "participants");
    }
    const userIds: string[] = [];
    for (const [i, p] of list.entries()) {
      const field = `participants[${i}]`;
      const ok = typeof p === "object" && p !== null && !Array.isArray(p) && Object.keys(p).every((k) => k === "user_id");
      const userId: unknown = ok ? (p as Record<string, unknown>).user_id : undefined;
      if (typeof userId !== "string" || !USER_ID_PATTERN.test(userId)) return errorJson(c, 400, "bad_request", "each participant is { user_id }", field);
      if (userIds.includes(userId)) return errorJson(c, 400, "bad_request", `user '${userId}' is listed twice`, field);
      if (!store.user(app.app_id, userId)) return errorJson(c, 404, "user_not_found", `user '${userId}' does not exist`, field);
      userIds.push(userId);
    }
    const room: RoomRow = { room_id: `room_${randomCode(12)}`, app_id: app.app_id, created_at: host.now(), ended_at: null };
    const participants: ParticipantRow[] = userIds.map((user_id) => {
      const code = randomCode(24);
      return { code, room_id: room.room_id, app_id: app.app_id, user_id, access_link: `${ACCESS_LINK_BASE}${code}` };
    });
    store.insertRoom(room, participants);
    return c.json(roomJson(room, participants), 201);
  });

  rest.get("/rooms/:roomId", (c) => {
    const room = store.room(c.get("app").app_id, c.req.param("roomId"));
    return room ? c.json(roomJson(room, store.participants(room.room_id))) : errorJson(c, 404, "room_not_found", "no such room");
  });

  rest.post("/rooms/:roomId/end", async (c) => {
    const app = c.get("app");
    const room = store.room(app.app_id, c.req.param("roomId"));
    if (!room) return errorJson(c, 404, "room_not_found", "no such room");
    if (room.ended_at !== null) return errorJson(c, 409, "room_already_ended", "the room has already ended");
    const ended = endCall(host, app, room);
    // The emulator runs one call per room; its session id is made up when it ends.
    await host.sendWebhook(app, "on_session_ended", { room_id: room.room_id, session_id: `session_${randomCode(12)}` });
    return c.json(roomJson(ended, store.participants(room.room_id)));
  });

  return rest;
}

/** Kaleyra's v1 room routes, served under /rest. A disabled room is an ended room here. */
export function restV1RoomRoutes(host: EmulatorHost): Hono<EmulatorEnv> {
  const { store } = host;
  const rest = withApiKey(store);

  rest.put("/room/disable/:roomId", async (c) => {
    const app = c.get("app");
    const room = store.room(app.app_id, c.req.param("roomId"));
    if (!room) return errorJson(c, 404, "room_not_found", "no such room");
    const ended = endCall(host, app, room);
    await host.sendWebhook(app, "on_room_disabled", { room_id: room.room_id });
    return c.json(roomJson(ended, store.participants(room.room_id)));
  });

  rest.delete("/room/delete/:roomId", async (c) => {
    const app = c.get("app");
    const room = store.room(app.app_id, c.req.param("roomId"));
    if (!room) return errorJson(c, 404, "room_not_found", "no such room");
    endCall(host, app, room);
    // The shape of Kaleyra's documented on_room_deleted example.
    const deleted_links = store.participants(room.room_id).map((p) => ({ user_id: p.user_id, link: p.access_link }));
    store.deleteRoom(room.room_id);
    await host.sendWebhook(app, "on_room_deleted", { room_id: room.room_id, deleted_links });
    return c.json({ room_id: room.room_id, deleted_links });
  });

  return rest;
}

function tokenClaims(app: AppRow, user: string, iat: number, exp: number) {
  return { user, companyId: app.company_id, allowCamera: true, iat, exp, iss: EMULATOR_ISSUER, sub: `${user}#${app.company_id}` };
}

function isName(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= 256;
}

function pageParam(raw: string | undefined, fallback: number, min: number, max: number): number | undefined {
  if (raw === undefined) return fallback;
  if (!/^\d{1,7}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}
