import { describe, expect, it } from "vitest";
import { expectedSignature } from "../dev/emulator/testing";
import { parseSignatureHeader, signRoomId, signWebhook, verifyRoomIdHmac, verifyWebhookSignature } from "./signature";

const KEY = "ak_test_signing_key";
const BODY = JSON.stringify({ event: "on_room_deleted", event_version: "1.0", namespace: "room", timestamp: 1_624_605_171_921, data: { room_id: "room_5beecf8c0f29" } });

describe("bandyer-signature", () => {
  it("matches the example in Kaleyra's documentation (Verify WebHook Signature)", async () => {
    expect(await signWebhook("ak_live_123456", '{"event":"test"}', 1_554_193_902)).toBe(
      "t=1554193902,v0=6841e55cb12f2d9d1216c47097c75fd737a22a3a00c8d8f8d3d35fb2b613ce5b",
    );
  });

  it("is t=<unix seconds>,v0=<hex HMAC-SHA256 of '<t>.<body>' keyed with the API key>", async () => {
    const header = await signWebhook(KEY, BODY, 1_700_000_000);
    expect(header).toBe(`t=1700000000,v0=${await expectedSignature(KEY, 1_700_000_000, BODY)}`);
  });

  it("verifies within the tolerance and tells the timestamp", async () => {
    const header = await signWebhook(KEY, BODY, 1_000);
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1_300 })).toEqual({ ok: true, timestampSec: 1_000, delivery: expect.stringMatching(/^1000\.[0-9a-f]{64}$/) });
  });

  it("names one delivery the same however its header is spelled (spaces, order, repeated or unknown parts)", async () => {
    const header = await signWebhook(KEY, BODY, 1_000);
    const mac = header.split("v0=")[1]!;
    const spellings = [header, ` v0=${mac} , t=1000 `, `t=1000,v0=${mac},v0=${mac}`, `t=1000,v1=zz,v0=${"0".repeat(64)},v0=${mac}`];
    const deliveries = await Promise.all(spellings.map((h) => verifyWebhookSignature(KEY, h, BODY, { nowSec: 1_000 })));
    expect(new Set(deliveries.map((d) => (d.ok ? d.delivery : d.reason)))).toEqual(new Set([`1000.${mac}`]));
  });

  it("takes t in milliseconds too: opaque text in the MAC, converted for the freshness check", async () => {
    const ms = 1_700_000_000_123;
    const header = await signWebhook(KEY, BODY, ms);
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1_700_000_100 })).toMatchObject({ ok: true, timestampSec: 1_700_000_000 });
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1_700_000_400 })).toEqual({ ok: false, reason: "stale" });
  });

  it("refuses a signature older or newer than the tolerance (replay)", async () => {
    const header = await signWebhook(KEY, BODY, 1_000);
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1_301 })).toEqual({ ok: false, reason: "stale" });
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 699 })).toEqual({ ok: false, reason: "stale" });
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1_010, toleranceSec: 5 })).toEqual({ ok: false, reason: "stale" });
  });

  it("checks the MAC before the freshness: a bad MAC with a stale timestamp is a mismatch, not stale", async () => {
    const header = `t=1,v0=${"0".repeat(64)}`;
    expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1_700_000_000 })).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhookSignature(KEY, await signWebhook(KEY, BODY, 1), BODY, { nowSec: 1_700_000_000 })).toEqual({ ok: false, reason: "stale" });
  });

  it("refuses another key, a changed body and a changed timestamp", async () => {
    const header = await signWebhook(KEY, BODY, 1_000);
    expect(await verifyWebhookSignature("ak_test_other_key", header, BODY, { nowSec: 1_000 })).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhookSignature(KEY, header, `${BODY} `, { nowSec: 1_000 })).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhookSignature(KEY, header.replace("t=1000", "t=1001"), BODY, { nowSec: 1_000 })).toEqual({ ok: false, reason: "mismatch" });
  });

  it("accepts any one valid v0 among several (key rotation)", async () => {
    const header = await signWebhook(KEY, BODY, 1_000);
    const withOld = `t=1000,v0=${"0".repeat(64)},${header.split(",")[1]}`;
    expect((await verifyWebhookSignature(KEY, withOld, BODY, { nowSec: 1_000 })).ok).toBe(true);
  });

  it.each([null, "", "v0=abc", "t=1000", "t=x,v0=" + "a".repeat(64), "t=1,t=2,v0=" + "a".repeat(64), "t=1,v0=" + "A".repeat(64), "garbage"])(
    "treats %j as malformed",
    async (header) => {
      if (header !== null) expect(parseSignatureHeader(header)).toBeUndefined();
      expect(await verifyWebhookSignature(KEY, header, BODY, { nowSec: 1 })).toEqual({ ok: false, reason: "malformed" });
    },
  );
});

describe("room-id-hmac (v0 webhooks)", () => {
  // Computed independently (Node's crypto.createHmac("sha256", key).update(roomId).digest("hex")).
  const MAC = "903513493298c256c5fc250cbb70b4a7f0cff083494dec38deb332f9896c4c0c";

  it("is the hex HMAC-SHA256 of the room id keyed with the API key", async () => {
    expect(await signRoomId("ak_fake_123456789", "room_5beecf8c0f29")).toBe(MAC);
  });

  it("verifies the room it was made for, in either case, and names it in lowercase", async () => {
    expect(await verifyRoomIdHmac("ak_fake_123456789", MAC, "room_5beecf8c0f29")).toEqual({ ok: true, mac: MAC });
    expect(await verifyRoomIdHmac("ak_fake_123456789", ` ${MAC.toUpperCase()} `, "room_5beecf8c0f29")).toEqual({ ok: true, mac: MAC });
  });

  it("refuses another room, another key, and a malformed header", async () => {
    expect(await verifyRoomIdHmac("ak_fake_123456789", MAC, "room_5beecf8c0f2a")).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyRoomIdHmac("ak_fake_other", MAC, "room_5beecf8c0f29")).toEqual({ ok: false, reason: "mismatch" });
    for (const header of [null, "", MAC.slice(1), `${MAC}0`, `t=1,v0=${MAC}`]) {
      expect(await verifyRoomIdHmac("ak_fake_123456789", header, "room_5beecf8c0f29")).toEqual({ ok: false, reason: "malformed" });
    }
  });
});
