/**
 * The Engine.IO v4 + Socket.IO v5 text codec, and the two layers together: a WebSocket frame is one
 * Engine.IO packet, and an Engine.IO message carries one Socket.IO packet.
 */
import { decodeEngine, encodeEngine, type CodecError, type EngineOpen } from "./engineio";
import { decodeSocket, encodeSocket, type SocketPacket } from "./socketio";

export * from "./engineio";
export * from "./socketio";

/** What one text frame holds, with the Socket.IO packet already decoded for a message. */
export type Frame =
  | { type: "open"; open: EngineOpen }
  | { type: "close" }
  | { type: "ping"; data: string }
  | { type: "pong"; data: string }
  | { type: "upgrade" }
  | { type: "noop" }
  | { type: "socket"; packet: SocketPacket };

export function decodeFrame(frame: unknown): { ok: true; frame: Frame } | { ok: false; error: CodecError } {
  const engine = decodeEngine(frame);
  if (!engine.ok) return engine;
  if (engine.packet.type !== "message") return { ok: true, frame: engine.packet };
  const socket = decodeSocket(engine.packet.data);
  return socket.ok ? { ok: true, frame: { type: "socket", packet: socket.packet } } : socket;
}

/** One Socket.IO packet as the text of one WebSocket frame (`4` + the packet). */
export function socketFrame(packet: SocketPacket): string {
  return encodeEngine({ type: "message", data: encodeSocket(packet) });
}
