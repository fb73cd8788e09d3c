/**
 * Engine.IO protocol v4, text packets over the WebSocket transport (one packet per frame):
 * `<type digit>[<data>]` with open 0, close 1, ping 2, pong 3, message 4, upgrade 5, noop 6.
 * Source: github.com/socketio/engine.io-protocol (README, v4).
 * Invariants: decoding never throws; a bad frame is an error value with a stable code. Binary
 * frames are refused (this project sends and expects text only).
 */

/** The handshake data of the open packet (`0{...}`), validated. */
export interface EngineOpen {
  sid: string;
  upgrades: string[];
  /** Milliseconds between the server's pings. */
  pingInterval: number;
  /** Milliseconds the server waits for a pong; the client allows pingInterval + pingTimeout. */
  pingTimeout: number;
  /** Bytes per payload the server accepts (long-polling batching; informative over WebSocket). */
  maxPayload: number;
}

export type EnginePacket =
  | { type: "open"; open: EngineOpen }
  | { type: "close" }
  | { type: "ping"; data: string }
  | { type: "pong"; data: string }
  | { type: "message"; data: string }
  | { type: "upgrade" }
  | { type: "noop" };

export type CodecErrorCode =
  | "not_text"
  | "empty"
  | "too_large"
  | "unknown_type"
  | "bad_open"
  | "binary_unsupported"
  | "bad_namespace"
  | "bad_ack_id"
  | "bad_json"
  | "bad_payload";

export interface CodecError {
  code: CodecErrorCode;
  message: string;
}

export type Decoded<T> = { ok: true; packet: T } | { ok: false; error: CodecError };

/** Engine.IO's default maxPayload; a frame larger than this is refused without parsing it. */
export const MAX_FRAME_CHARS = 1_000_000;
/** Bounds for the heartbeat values, so a hostile open packet cannot set a zero or a year. */
export const MIN_HEARTBEAT_MS = 1;
export const MAX_HEARTBEAT_MS = 600_000;

const TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"] as const;

export function fail<T>(code: CodecErrorCode, message: string): Decoded<T> {
  return { ok: false, error: { code, message } };
}

export function decodeEngine(frame: unknown): Decoded<EnginePacket> {
  if (typeof frame !== "string") return fail("not_text", "binary frames are not supported; expected a text frame");
  if (frame.length === 0) return fail("empty", "empty frame");
  if (frame.length > MAX_FRAME_CHARS) return fail("too_large", `frame longer than ${MAX_FRAME_CHARS} characters`);
  const type = TYPES[frame.charCodeAt(0) - 48];
  if (type === undefined) return fail("unknown_type", `unknown Engine.IO packet type '${frame[0]}'`);
  const data = frame.slice(1);
  switch (type) {
    case "open": {
      const open = parseOpen(data);
      return open.ok ? { ok: true, packet: { type, open: open.packet } } : open;
    }
    case "ping":
    case "pong":
    case "message":
      return { ok: true, packet: { type, data } };
    default:
      return { ok: true, packet: { type } };
  }
}

export function encodeEngine(packet: EnginePacket): string {
  switch (packet.type) {
    case "open":
      return `0${JSON.stringify(packet.open)}`;
    case "close":
      return "1";
    case "ping":
      return `2${packet.data}`;
    case "pong":
      return `3${packet.data}`;
    case "message":
      return `4${packet.data}`;
    case "upgrade":
      return "5";
    case "noop":
      return "6";
  }
}

/** The open packet's JSON, every field checked (sid non-empty, heartbeat values bounded). */
export function parseOpen(json: string): Decoded<EngineOpen> {
  const value = parseJson(json);
  if (!value.ok || typeof value.value !== "object" || value.value === null || Array.isArray(value.value)) {
    return fail("bad_open", "the open packet's data must be a JSON object");
  }
  const o = value.value as Record<string, unknown>;
  if (typeof o.sid !== "string" || o.sid.length === 0 || o.sid.length > 256) return fail("bad_open", "open packet: sid must be a non-empty string");
  const upgrades = o.upgrades ?? [];
  if (!Array.isArray(upgrades) || !upgrades.every((u) => typeof u === "string")) return fail("bad_open", "open packet: upgrades must be a list of strings");
  for (const field of ["pingInterval", "pingTimeout"] as const) {
    const v = o[field];
    if (!Number.isInteger(v) || (v as number) < MIN_HEARTBEAT_MS || (v as number) > MAX_HEARTBEAT_MS) {
      return fail("bad_open", `open packet: ${field} must be an integer in ${MIN_HEARTBEAT_MS}..${MAX_HEARTBEAT_MS} ms`);
    }
  }
  const maxPayload = o.maxPayload ?? MAX_FRAME_CHARS;
  if (!Number.isInteger(maxPayload) || (maxPayload as number) < 1) return fail("bad_open", "open packet: maxPayload must be a positive integer");
  return {
    ok: true,
    packet: { sid: o.sid, upgrades: upgrades as string[], pingInterval: o.pingInterval as number, pingTimeout: o.pingTimeout as number, maxPayload: maxPayload as number },
  };
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
