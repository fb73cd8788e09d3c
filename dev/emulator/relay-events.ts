/**
 * Realistic traffic for the relay (issue 14) on the emulator's Socket.IO connections, so the demo
 * and the tests have something real to relay. Every name and shape here is our invention [none]:
 * Kaleyra does not document its realtime events beyond the connection's lifecycle.
 * - Server events, sent through the control API (`POST /control/relay/events`):
 *   `user:status_changed { userId, status: "online" | "busy" | "offline" }` and
 *   `call:incoming { callId, from }`.
 * - Client requests, answered with a Socket.IO ack like Kaleyra's token update
 *   (`{ status: 200, data }` or `{ error: <name> }`): `user:status:set { status }` (then
 *   `user:status_changed` to every connected socket of the app) and `call:dial { to }` (then
 *   `call:incoming` to the callee's sockets; `user_not_connected` when it has none).
 * Invariants: every input is validated and a refused one changes nothing (a request gets
 * `{ error: "bad_request" }`); a frame that is not one of these requests on a connected socket is
 * left to socket.ts, untouched.
 */
import { Hono } from "hono";
import { isObject } from "../../core/object";
import { decodeFrame, socketFrame } from "../../remote/socketio";
import { errorJson, jsonObject, type EmulatorEnv, type EmulatorHost } from "./http";
import type { EmulatorSockets } from "./socket";
import { stateOf } from "./socket-state";
import { randomCode } from "./store";

const USER_STATUSES = ["online", "busy", "offline"] as const;
const RELAY_EVENTS = ["user:status_changed", "call:incoming"] as const;
const RELAY_REQUESTS = ["user:status:set", "call:dial"] as const;
const MAX_ID = 128;

type Data = Record<string, unknown>;
const isStatus = (v: unknown): v is (typeof USER_STATUSES)[number] => (USER_STATUSES as readonly unknown[]).includes(v);
const isId = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= MAX_ID;
const newCallId = () => `call_${randomCode(9)}`;

/** The event's data when it is valid (defaults filled in for the user `userId`), else undefined. */
function eventData(name: string, userId: string, data: Data | undefined): Data | undefined {
  if (name === "user:status_changed") {
    const d = { userId, status: "online", ...data };
    return isId(d.userId) && isStatus(d.status) ? { userId: d.userId, status: d.status } : undefined;
  }
  const d = { callId: newCallId(), from: "emulator", ...data };
  return isId(d.callId) && isId(d.from) ? { callId: d.callId, from: d.from } : undefined;
}

/** `POST /control/relay/events { appId, userId, name, data? }` -> 200 `{ event, data, delivered }`. */
export function relayEventRoutes(host: EmulatorHost): Hono<EmulatorEnv> {
  const routes = new Hono<EmulatorEnv>();
  routes.post("/events", async (c) => {
    const body = await jsonObject(c, ["appId", "userId", "name", "data"]);
    if (!body.ok) return body.response;
    const { appId, userId, name, data } = body.value;
    if (typeof appId !== "string" || !host.store.app(appId)) return errorJson(c, 404, "app_not_found", "no such app", "appId");
    if (!isId(userId)) return errorJson(c, 400, "bad_request", "userId must be a string of 1..128 characters", "userId");
    if (typeof name !== "string" || !(RELAY_EVENTS as readonly string[]).includes(name)) {
      return errorJson(c, 400, "bad_request", `name must be one of ${RELAY_EVENTS.join(", ")}`, "name");
    }
    if (data !== undefined && (typeof data !== "object" || data === null || Array.isArray(data))) return errorJson(c, 400, "bad_request", "data must be an object", "data");
    const payload = eventData(name, userId, data as Data | undefined);
    if (!payload) {
      const shape = name === "call:incoming" ? "{ callId, from } (strings of 1..128 characters)" : `{ userId, status: ${USER_STATUSES.join(" | ")} }`;
      return errorJson(c, 400, "bad_request", `data must be ${shape}`, "data");
    }
    return c.json({ event: name, data: payload, delivered: host.sockets.emit(appId, userId, name, payload) });
  });
  return routes;
}

/**
 * Answers a relay request (RELAY_REQUESTS) that arrives on a connected socket; true when it did,
 * false to leave the frame to socket.ts. Mounted in KaleyraEmulator.webSocketMessage.
 */
export function answerRelayRequest(sockets: EmulatorSockets, ws: WebSocket, message: string | ArrayBuffer): boolean {
  const decoded = decodeFrame(message);
  if (!decoded.ok || decoded.frame.type !== "socket") return false;
  const packet = decoded.frame.packet;
  if (packet.type !== "event" || packet.id === undefined || !(RELAY_REQUESTS as readonly string[]).includes(packet.name)) return false;
  const s = stateOf(ws);
  if (s?.state !== "connected" || !s.appId || !s.userId) return false;
  const { id, nsp } = packet;
  const ack = (payload: Data) => {
    try {
      ws.send(socketFrame({ type: "ack", nsp, id, args: [payload] }));
    } catch {
      // closed meanwhile: nobody waits for the answer
    }
  };
  const arg = packet.args[0];
  const a: Data = isObject(arg) ? arg : {};
  if (packet.name === "user:status:set") {
    if (!isStatus(a.status)) return ack({ error: "bad_request" }), true;
    const changed = { userId: s.userId, status: a.status };
    ack({ status: 200, data: changed });
    const users = new Set(sockets.list(s.appId).map((x) => x.state.userId).filter(isId));
    for (const user of users) sockets.emit(s.appId, user, "user:status_changed", changed);
    return true;
  }
  if (!isId(a.to)) return ack({ error: "bad_request" }), true;
  if (!sockets.list(s.appId, a.to).some((x) => x.state.state === "connected")) return ack({ error: "user_not_connected" }), true;
  const callId = newCallId();
  ack({ status: 200, data: { callId } });
  sockets.emit(s.appId, a.to, "call:incoming", { callId, from: s.userId });
  return true;
}
