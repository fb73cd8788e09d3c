import { describe, expect, it } from "vitest";
import { expectedSignature } from "./emulator/testing";
import { parseSignatureHeader, signWebhook, verifyWebhookSignature } from "./signature";

const KEY = "ak_test_signing_key";
const BODY = JSON.stringify({ event: "on_room_ended", app_id: "mAppId_x", data: { room_id: "r1" } });

describe("bandyer-signature", () => {
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
