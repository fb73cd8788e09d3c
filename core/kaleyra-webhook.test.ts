import { describe, expect, it } from "vitest";
import { parseV0Webhook, parseV1Webhook } from "./kaleyra-webhook";

const v1 = (fields: Record<string, unknown>) =>
  JSON.stringify({ event: "on_room_deleted", event_version: "1.0", namespace: "room", timestamp: 1_624_605_171_921, data: { room_id: "room_1" }, ...fields });

describe("v1 webhook payloads", () => {
  it.each(["on_session_ended", "on_room_disabled", "on_room_deleted"])("%s ends the calls of its data.room_id", (event) => {
    expect(parseV1Webhook(v1({ event }))).toEqual({ ok: true, webhook: { action: "end_room_calls", event, roomId: "room_1" } });
  });

  it("Kaleyra's documented example (on_room_deleted with deleted_links) ends its room", () => {
    const body = v1({ data: { room_id: "room_5beecf8c0f29", deleted_links: [{ user_id: "user_1", link: "https://sandbox.bandyer.com/connect/rest-call-handler/aaaaaaaaaa" }] } });
    expect(parseV1Webhook(body)).toMatchObject({ ok: true, webhook: { action: "end_room_calls", roomId: "room_5beecf8c0f29" } });
  });

  it("acknowledges and ignores every other event, whatever its body (no on_room_ended, no on_user_deactivated at Kaleyra)", () => {
    for (const event of ["on_room_created", "on_session_started", "on_user_connected", "on_room_ended", "on_user_deactivated", "on_call_ended"]) {
      expect(parseV1Webhook(JSON.stringify({ event, data: "anything" }))).toEqual({ ok: true, webhook: { action: "ignore", event } });
    }
  });

  it("refuses a body that is not a JSON object, or has no event name", () => {
    for (const raw of ["", "[]", "null", '"on_room_deleted"', "{"]) expect(parseV1Webhook(raw)).toEqual({ ok: false, field: "body" });
    for (const event of [undefined, 5, "", "x".repeat(65)]) expect(parseV1Webhook(v1({ event }))).toEqual({ ok: false, field: "event" });
  });

  it("refuses a room event in a version it does not know, rather than guessing its data", () => {
    for (const event_version of [undefined, "2.0", 1, "1"]) expect(parseV1Webhook(v1({ event_version }))).toEqual({ ok: false, field: "event_version" });
  });

  it("refuses a room event without a usable data.room_id", () => {
    for (const data of [undefined, null, [], "room_1", {}, { room_id: 5 }, { room_id: "" }, { room_id: "a/b" }, { room_id: "r".repeat(129) }]) {
      expect(parseV1Webhook(v1({ data }))).toEqual({ ok: false, field: "data.room_id" });
    }
    // The room id at the top is not v1's place for it.
    expect(parseV1Webhook(v1({ data: {}, room_id: "room_1" }))).toEqual({ ok: false, field: "data.room_id" });
  });
});

describe("v0 webhook payloads", () => {
  it("on_call_ended ends the calls of its room, read from data.room_id or from room_id", () => {
    const ended = { roomId: "room_1", webhook: { action: "end_room_calls", event: "on_call_ended", roomId: "room_1" } };
    expect(parseV0Webhook(JSON.stringify({ event: "on_call_ended", data: { room_id: "room_1" } }))).toEqual(ended);
    expect(parseV0Webhook(JSON.stringify({ event: "on_call_ended", room_id: "room_1" }))).toEqual(ended);
    expect(parseV0Webhook(JSON.stringify({ event: "on_call_ended", room_id: "room_1", data: { room_id: "room_1" } }))).toEqual(ended);
  });

  it("on_call_incoming wakes the room's users (docs/push.md): only its room id is signed, so only it is read", () => {
    expect(parseV0Webhook(JSON.stringify({ event: "on_call_incoming", data: { room_id: "room_1", user_id: "mallory" } }))).toEqual({
      roomId: "room_1",
      webhook: { action: "wake_room_users", event: "on_call_incoming", roomId: "room_1" },
    });
  });

  it("other v0 events with a room id are ignored (their MAC can still be checked)", () => {
    expect(parseV0Webhook(JSON.stringify({ event: "on_call_answered", data: { room_id: "room_1" } }))).toEqual({
      roomId: "room_1",
      webhook: { action: "ignore", event: "on_call_answered" },
    });
  });

  it("without one usable room id nothing can be authenticated", () => {
    for (const body of [
      {},
      { event: "on_call_ended" },
      { event: "on_call_ended", data: { room_id: "a/b" } },
      { event: "on_call_ended", room_id: "room_1", data: { room_id: "room_2" } },
      { event: 5, room_id: "room_1" },
    ]) {
      expect(parseV0Webhook(JSON.stringify(body))).toBeUndefined();
    }
    expect(parseV0Webhook("not json")).toBeUndefined();
  });
});
