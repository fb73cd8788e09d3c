/**
 * Controls for the Socket.IO endpoint, under /control: its faults and heartbeat
 * (`GET|PUT /control/realtime`), the open connections (`GET /control/connections`), server events
 * pushed to a user's connections, or every user's of the app when `userId` is left out
 * (`POST /control/connections/emit`: a short lifecycle name, or any other Socket.IO event name
 * passed through with its `data`), dropped connections
 * (`POST /control/connections/drop`), the CONNECTs an app received (`GET /control/connects`).
 * Invariant: every body is validated; a refused request changes nothing.
 */
import { Hono } from "hono";
import { parseRealtimeFaults } from "./faults";
import { errorJson, jsonObject, type EmulatorEnv, type EmulatorHost } from "./http";
import { SOCKET_EVENTS } from "./socket";
import type { SocketState } from "./socket-state";

/** The short names the control API takes for the server events it can push. */
const EMIT_EVENTS = {
  is_about_to_expire: SOCKET_EVENTS.aboutToExpire,
  expired: SOCKET_EVENTS.expired,
  force_disconnect: SOCKET_EVENTS.forceDisconnect,
  deprecated: SOCKET_EVENTS.deprecated,
} as const;

function connectionJson(s: SocketState) {
  return {
    state: s.state,
    appId: s.appId ?? null,
    userId: s.userId ?? null,
    kind: s.kind ?? null,
    roomId: s.roomId ?? null,
    socketId: s.sioSid ?? null,
    previousSocketId: s.previousSocketId ?? null,
    pingIntervalMs: s.pingIntervalMs,
    pingTimeoutMs: s.pingTimeoutMs,
    lastPingAt: s.lastPingAt,
    lastPongAt: s.lastPongAt,
  };
}

export function socketControlRoutes(host: EmulatorHost): Hono<EmulatorEnv> {
  const { store, sockets } = host;
  const control = new Hono<EmulatorEnv>();

  control.get("/realtime", (c) => c.json(store.realtimeFaults()));

  control.put("/realtime", async (c) => {
    const body = await jsonObject(c, ["connectRefusal", "connectHang", "stopPinging", "tokenUpdateRefusal", "pingIntervalMs", "pingTimeoutMs"]);
    if (!body.ok) return body.response;
    const parsed = parseRealtimeFaults(body.value);
    if (!parsed.ok) return errorJson(c, 400, "bad_request", parsed.message, parsed.field);
    store.setRealtimeFaults(parsed.faults);
    return c.json(parsed.faults);
  });

  control.get("/connections", (c) => {
    const list = sockets.list(c.req.query("appId") || undefined, c.req.query("userId") || undefined);
    return c.json({ connections: list.map(({ state }) => connectionJson(state)) });
  });

  // How many CONNECTs named the app since it was created (or the last reset): what Kaleyra would count.
  control.get("/connects", (c) => {
    const appId = c.req.query("appId");
    if (appId === undefined || !store.app(appId)) return errorJson(c, 404, "app_not_found", "no such app", "appId");
    // `since` (ms): also when each CONNECT came, from memory (the bench's herd; lost with the instance).
    const since = Number(c.req.query("since"));
    if (c.req.query("since") !== undefined && Number.isFinite(since)) return c.json({ appId, connects: store.connects(appId), times: store.connectTimes(appId, since) });
    return c.json({ appId, connects: store.connects(appId) });
  });

  control.post("/connections/emit", async (c) => {
    const body = await jsonObject(c, ["appId", "userId", "event", "data"]);
    if (!body.ok) return body.response;
    const { appId, userId, event, data } = body.value;
    if (typeof appId !== "string" || !store.app(appId)) return errorJson(c, 404, "app_not_found", "no such app", "appId");
    // No userId: every connected user of the app (the bench's broadcasts).
    if (userId !== undefined && typeof userId !== "string") return errorJson(c, 400, "bad_request", "userId must be a string", "userId");
    if (typeof event !== "string" || event.length === 0 || event.length > 128) {
      return errorJson(c, 400, "bad_request", `event must be one of ${Object.keys(EMIT_EVENTS).join(", ")}, or any event name of 1..128 characters`, "event");
    }
    if (!(event in EMIT_EVENTS)) {
      // Passthrough: any other name goes out as it is, with `data` (any JSON) as its one argument.
      return c.json({ event, delivered: sockets.emit(appId, userId as string | undefined, event, data) });
    }
    if (data !== undefined && (typeof data !== "object" || data === null || Array.isArray(data))) {
      return errorJson(c, 400, "bad_request", "data must be an object", "data");
    }
    const name = EMIT_EVENTS[event as keyof typeof EMIT_EVENTS];
    const delivered = sockets.emit(appId, userId as string | undefined, name, (data as Record<string, unknown> | undefined) ?? defaultData(event, host.now()));
    return c.json({ event: name, delivered });
  });

  control.post("/connections/drop", async (c) => {
    const body = await jsonObject(c, ["appId", "userId"]);
    if (!body.ok) return body.response;
    const { appId, userId } = body.value;
    if (typeof appId !== "string" || !store.app(appId)) return errorJson(c, 404, "app_not_found", "no such app", "appId");
    if (userId !== undefined && typeof userId !== "string") return errorJson(c, 400, "bad_request", "userId must be a string", "userId");
    return c.json({ dropped: sockets.drop(appId, userId as string | undefined) });
  });

  return control;
}

/** What each event carries when the control call gives no data (shapes per KALEYRA-FACTS.md). */
function defaultData(event: string, now: number): Record<string, unknown> {
  switch (event) {
    case "is_about_to_expire":
      return { expiresAt: new Date(now + 60_000).toISOString() };
    case "force_disconnect":
      return { reason: "user_disabled" };
    case "deprecated":
      return { deprecationDate: new Date(now).toISOString(), endOfSupportDate: new Date(now + 90 * 86_400_000).toISOString() };
    default:
      return {};
  }
}
