import { describe, expect, it } from "vitest";
import { decodeEngine, decodeFrame, decodeSocket, encodeEngine, encodeSocket, MAX_FRAME_CHARS, socketFrame, type SocketPacket } from "./index";

const OPEN = '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';

describe("Engine.IO v4 text packets", () => {
  it("reads the spec's open packet", () => {
    expect(decodeEngine(`0${OPEN}`)).toEqual({
      ok: true,
      packet: { type: "open", open: { sid: "lv_VI97HAXpY6yYWAAAC", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 } },
    });
  });

  it("reads close, ping, pong, message, upgrade and noop", () => {
    expect(decodeEngine("1")).toEqual({ ok: true, packet: { type: "close" } });
    expect(decodeEngine("2")).toEqual({ ok: true, packet: { type: "ping", data: "" } });
    expect(decodeEngine("3probe")).toEqual({ ok: true, packet: { type: "pong", data: "probe" } });
    expect(decodeEngine("4hello")).toEqual({ ok: true, packet: { type: "message", data: "hello" } });
    expect(decodeEngine("5")).toEqual({ ok: true, packet: { type: "upgrade" } });
    expect(decodeEngine("6")).toEqual({ ok: true, packet: { type: "noop" } });
  });

  it("writes packets as the spec's wire strings", () => {
    expect(encodeEngine({ type: "pong", data: "" })).toBe("3");
    expect(encodeEngine({ type: "ping", data: "probe" })).toBe("2probe");
    expect(encodeEngine({ type: "message", data: "hello" })).toBe("4hello");
    expect(encodeEngine({ type: "close" })).toBe("1");
    const open = { sid: "s", upgrades: [], pingInterval: 100, pingTimeout: 50, maxPayload: 1000 };
    expect(decodeEngine(encodeEngine({ type: "open", open }))).toEqual({ ok: true, packet: { type: "open", open } });
  });

  it.each([
    ["", "empty"],
    ["7", "unknown_type"],
    ["x", "unknown_type"],
    ["0", "bad_open"],
    ["0[]", "bad_open"],
    ["0{not json", "bad_open"],
    ['0{"sid":"","pingInterval":1,"pingTimeout":1}', "bad_open"],
    ['0{"sid":"a","pingInterval":0,"pingTimeout":1}', "bad_open"],
    ['0{"sid":"a","pingInterval":25000.5,"pingTimeout":1}', "bad_open"],
    ['0{"sid":"a","pingInterval":25000,"pingTimeout":600001}', "bad_open"],
    ['0{"sid":"a","pingInterval":25000,"pingTimeout":"20000"}', "bad_open"],
    ['0{"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":1}', "bad_open"],
    ['0{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":0}', "bad_open"],
  ])("refuses %j as %s without throwing", (frame, code) => {
    const decoded = decodeEngine(frame);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe(code);
  });

  it("refuses binary and oversized frames", () => {
    expect(decodeEngine(new ArrayBuffer(2))).toMatchObject({ ok: false, error: { code: "not_text" } });
    expect(decodeEngine(undefined)).toMatchObject({ ok: false, error: { code: "not_text" } });
    expect(decodeEngine(`4${"x".repeat(MAX_FRAME_CHARS)}`)).toMatchObject({ ok: false, error: { code: "too_large" } });
  });

  it("defaults missing upgrades and maxPayload", () => {
    const decoded = decodeEngine('0{"sid":"a","pingInterval":10,"pingTimeout":20}');
    expect(decoded).toMatchObject({ ok: true, packet: { open: { upgrades: [], maxPayload: MAX_FRAME_CHARS } } });
  });
});

describe("Socket.IO v5 packets", () => {
  const cases: [string, SocketPacket][] = [
    ["0", { type: "connect", nsp: "/" }],
    ['0{"token":"123"}', { type: "connect", nsp: "/", data: { token: "123" } }],
    ['0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}', { type: "connect", nsp: "/admin", data: { sid: "oSO0OpakMV_3jnilAAAA" } }],
    ['4{"message":"Not authorized"}', { type: "connect_error", nsp: "/", data: { message: "Not authorized" } }],
    ['2["foo"]', { type: "event", nsp: "/", name: "foo", args: [] }],
    ['2/admin,["bar"]', { type: "event", nsp: "/admin", name: "bar", args: [] }],
    ['212["foo"]', { type: "event", nsp: "/", id: 12, name: "foo", args: [] }],
    ['2["hey","Jude",{"a":1}]', { type: "event", nsp: "/", name: "hey", args: ["Jude", { a: 1 }] }],
    ['3/admin,13["bar"]', { type: "ack", nsp: "/admin", id: 13, args: ["bar"] }],
    ["30[]", { type: "ack", nsp: "/", id: 0, args: [] }],
    ["1", { type: "disconnect", nsp: "/" }],
    ["1/admin,", { type: "disconnect", nsp: "/admin" }],
  ];

  it.each(cases)("%s decodes and encodes back to the same wire string", (wire, packet) => {
    expect(decodeSocket(wire)).toEqual({ ok: true, packet });
    expect(encodeSocket(packet)).toBe(wire);
  });

  it("accepts a CONNECT_ERROR with a string payload", () => {
    expect(decodeSocket('4"nope"')).toEqual({ ok: true, packet: { type: "connect_error", nsp: "/", data: "nope" } });
  });

  it.each([
    ["", "empty"],
    ["7", "unknown_type"],
    ["-1", "unknown_type"],
    ['51-["baz",{"_placeholder":true,"num":0}]', "binary_unsupported"],
    ['61-15["bar",{"_placeholder":true,"num":0}]', "binary_unsupported"],
    ["2[", "bad_json"],
    ["2", "bad_payload"],
    ["2[]", "bad_payload"],
    ["2[1]", "bad_payload"],
    ['2{"a":1}', "bad_payload"],
    ["3[]", "bad_ack_id"],
    ['3{"a":1}', "bad_ack_id"],
    ['31{"a":1}', "bad_payload"],
    ['31234567890123456["x"]', "bad_ack_id"],
    ["0[1]", "bad_payload"],
    ['0"x"', "bad_payload"],
    ["1{}", "bad_payload"],
    ["4", "bad_payload"],
    ["4null", "bad_payload"],
    ["4[1]", "bad_payload"],
    [`0/${"n".repeat(300)},`, "bad_namespace"],
  ])("refuses %j as %s without throwing", (wire, code) => {
    const decoded = decodeSocket(wire);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe(code);
  });
});

describe("frames: Engine.IO around Socket.IO", () => {
  it("wraps a Socket.IO packet in a message packet (42[...])", () => {
    expect(socketFrame({ type: "event", nsp: "/", name: "foo", args: [] })).toBe('42["foo"]');
    expect(socketFrame({ type: "connect", nsp: "/", data: { "app-id": "a" } })).toBe('40{"app-id":"a"}');
  });

  it("decodes the sample session's frames", () => {
    expect(decodeFrame('40{"sid":"wZX3oN0bSVIhsaknAAAI"}')).toEqual({ ok: true, frame: { type: "socket", packet: { type: "connect", nsp: "/", data: { sid: "wZX3oN0bSVIhsaknAAAI" } } } });
    expect(decodeFrame("2")).toEqual({ ok: true, frame: { type: "ping", data: "" } });
    expect(decodeFrame('42/admin,1["tellme"]')).toEqual({ ok: true, frame: { type: "socket", packet: { type: "event", nsp: "/admin", id: 1, name: "tellme", args: [] } } });
  });

  it("refuses the sample session's binary ack and a broken inner packet", () => {
    expect(decodeFrame('461-/admin,1[{"_placeholder":true,"num":0}]')).toMatchObject({ ok: false, error: { code: "binary_unsupported" } });
    expect(decodeFrame("4")).toMatchObject({ ok: false, error: { code: "empty" } });
    expect(decodeFrame("42")).toMatchObject({ ok: false, error: { code: "bad_payload" } });
  });
});
