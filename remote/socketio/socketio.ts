/**
 * Socket.IO protocol v5 packets, carried in Engine.IO message packets (`4<socket.io packet>`):
 * `<type>[<nsp>,][<ack id>][<JSON payload>]`, the namespace written only when it is not "/".
 * CONNECT 0, DISCONNECT 1, EVENT 2, ACK 3, CONNECT_ERROR 4; BINARY_EVENT 5 and BINARY_ACK 6 are
 * refused (error "binary_unsupported"): neither Kaleyra's events nor ours carry binary data.
 * Source: github.com/socketio/socket.io-protocol (Readme, v5).
 * Invariants: decoding never throws; payloads are validated per type as the spec says (EVENT a
 * non-empty array whose first item is the event name, ACK an array with an id, CONNECT an object).
 */
import { fail, parseJson, type Decoded } from "./engineio";
import { isObject } from "../../core/object";

export type SocketPacket =
  | { type: "connect"; nsp: string; data?: Record<string, unknown> }
  | { type: "disconnect"; nsp: string }
  | { type: "event"; nsp: string; id?: number; name: string; args: unknown[] }
  | { type: "ack"; nsp: string; id: number; args: unknown[] }
  | { type: "connect_error"; nsp: string; data: unknown };

export const MAIN_NAMESPACE = "/";
/** Ack ids are counters; more than 15 digits cannot be a safe integer. */
const MAX_ID_DIGITS = 15;
const MAX_NAMESPACE_CHARS = 256;

export function decodeSocket(text: string): Decoded<SocketPacket> {
  if (text.length === 0) return fail("empty", "empty Socket.IO packet");
  const digit = text.charCodeAt(0) - 48;
  if (digit === 5 || digit === 6) return fail("binary_unsupported", "binary Socket.IO packets (BINARY_EVENT, BINARY_ACK) are not supported");
  if (!(digit >= 0 && digit <= 4)) return fail("unknown_type", `unknown Socket.IO packet type '${text[0]}'`);
  let i = 1;

  let nsp = MAIN_NAMESPACE;
  if (text[i] === "/") {
    const comma = text.indexOf(",", i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    if (nsp.length > MAX_NAMESPACE_CHARS) return fail("bad_namespace", "namespace too long");
    i = comma === -1 ? text.length : comma + 1;
  }

  let id: number | undefined;
  if (digit === 2 || digit === 3) {
    const start = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i > start) {
      if (i - start > MAX_ID_DIGITS) return fail("bad_ack_id", "ack id too long");
      id = Number(text.slice(start, i));
    }
  }

  let payload: unknown;
  const rest = text.slice(i);
  if (rest.length > 0) {
    const parsed = parseJson(rest);
    if (!parsed.ok) return fail("bad_json", "the Socket.IO payload is not JSON");
    payload = parsed.value;
  }

  switch (digit) {
    case 0:
      if (payload !== undefined && !isObject(payload)) return fail("bad_payload", "a CONNECT payload must be an object");
      return { ok: true, packet: payload === undefined ? { type: "connect", nsp } : { type: "connect", nsp, data: payload as Record<string, unknown> } };
    case 1:
      if (payload !== undefined) return fail("bad_payload", "a DISCONNECT packet has no payload");
      return { ok: true, packet: { type: "disconnect", nsp } };
    case 2: {
      if (!Array.isArray(payload) || payload.length === 0 || typeof payload[0] !== "string") {
        return fail("bad_payload", "an EVENT payload must be a non-empty array starting with the event name");
      }
      const [name, ...args] = payload as [string, ...unknown[]];
      return { ok: true, packet: id === undefined ? { type: "event", nsp, name, args } : { type: "event", nsp, id, name, args } };
    }
    case 3:
      if (id === undefined) return fail("bad_ack_id", "an ACK packet needs an id");
      if (!Array.isArray(payload)) return fail("bad_payload", "an ACK payload must be an array");
      return { ok: true, packet: { type: "ack", nsp, id, args: payload } };
    default:
      if (typeof payload !== "string" && !isObject(payload)) return fail("bad_payload", "a CONNECT_ERROR payload must be a string or an object");
      return { ok: true, packet: { type: "connect_error", nsp, data: payload } };
  }
}

export function encodeSocket(packet: SocketPacket): string {
  const nsp = packet.nsp === MAIN_NAMESPACE ? "" : `${packet.nsp},`;
  switch (packet.type) {
    case "connect":
      return `0${nsp}${packet.data === undefined ? "" : JSON.stringify(packet.data)}`;
    case "disconnect":
      return `1${nsp}`;
    case "event":
      return `2${nsp}${packet.id ?? ""}${JSON.stringify([packet.name, ...packet.args])}`;
    case "ack":
      return `3${nsp}${packet.id}${JSON.stringify(packet.args)}`;
    case "connect_error":
      return `4${nsp}${JSON.stringify(packet.data)}`;
  }
}
