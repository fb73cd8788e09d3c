/**
 * A raw WebSocket client over TCP for attack scripts: it speaks just enough of RFC 6455 to upgrade,
 * send masked text frames and read the server's frames, and it never answers a close frame (a
 * peer that ignores the server's close, which no browser or `ws` client would do).
 * Invariant: every wait is bounded; only 127.0.0.1 is used.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";

/**
 * Opens `ws://127.0.0.1:<port><path>`; resolves once the server answered the upgrade (101 or not).
 * `frames` are the server's text frames (parsed JSON when they parse), `closeCode` its close frame's
 * code, `ended` whether the server dropped the TCP connection.
 */
export function openRaw(port, path, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const state = { socket, status: 0, frames: [], closeCode: undefined, ended: false, send: (frame) => socket.write(textFrame(JSON.stringify(frame))), destroy: () => socket.destroy() };
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no upgrade answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        state.status = Number(/^HTTP\/1\.1 (\d+)/.exec(buffer.subarray(0, end).toString())?.[1] ?? 0);
        buffer = buffer.subarray(end + 4);
        upgraded = true;
        clearTimeout(timer);
        resolve(state);
      }
      buffer = readFrames(buffer, state);
    });
    const ended = () => {
      state.ended = true;
      clearTimeout(timer);
      if (!upgraded) reject(new Error("connection closed before the upgrade answer"));
    };
    socket.on("end", ended);
    socket.on("close", ended);
    socket.on("error", () => {});
  });
}

/** Parses whole frames off `buffer`, records them, returns the rest. Never answers a close. */
function readFrames(buffer, state) {
  for (;;) {
    if (buffer.length < 2) return buffer;
    const opcode = buffer[0] & 0x0f;
    let length = buffer[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) return buffer;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return buffer;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    if (buffer.length < offset + length) return buffer;
    const payload = buffer.subarray(offset, offset + length);
    if (opcode === 0x1) {
      const text = payload.toString();
      try {
        state.frames.push(JSON.parse(text));
      } catch {
        state.frames.push(text);
      }
    } else if (opcode === 0x8) {
      state.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
    buffer = buffer.subarray(offset + length);
  }
}

/** A masked text frame (clients must mask). */
function textFrame(text) {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}

/** Open file descriptors of a process (Linux /proc), or undefined when it is gone. */
export async function openFds(pid) {
  const { readdirSync } = await import("node:fs");
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}
