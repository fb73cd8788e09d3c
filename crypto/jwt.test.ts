import { describe, expect, it } from "vitest";
import { decodeAndVerifyHs256, forgeHs256 } from "../dev/emulator/testing";
import { base64UrlDecode, base64UrlEncode, decodeJwt, signHs256, verifyHs256 } from "./jwt";

describe("base64url", () => {
  it("round-trips every byte value, with - and _ instead of + and /, and no padding", () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const text = base64UrlEncode(bytes);
    expect(text).not.toMatch(/[+/=]/);
    expect(base64UrlDecode(text)).toEqual(bytes);
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
  });

  it.each(["a+b", "ab=", "a", "ab cd"])("refuses %j", (text) => {
    expect(base64UrlDecode(text)).toBeUndefined();
  });
});

describe("HS256", () => {
  const claims = { user: "alice", companyId: "c1", iat: 100, exp: 200, iss: "i", sub: "alice#c1" };

  it("signs a token that an independent HMAC check accepts", async () => {
    const token = await signHs256(claims, "secret-1");
    const checked = await decodeAndVerifyHs256(token, "secret-1");
    expect(checked).toEqual({ header: { alg: "HS256", typ: "JWT" }, claims, signatureValid: true });
  });

  it("verifies a token signed elsewhere, and refuses it under another secret", async () => {
    const token = await forgeHs256(claims, "secret-1");
    expect(await verifyHs256(token, "secret-1")).toMatchObject({ ok: true, claims });
    expect(await verifyHs256(token, "secret-2")).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("refuses alg none and other algorithms even with a valid MAC", async () => {
    expect(await verifyHs256(await forgeHs256(claims, "s", { alg: "none" }), "s")).toEqual({ ok: false, reason: "unsupported_alg" });
    expect(await verifyHs256(await forgeHs256(claims, "s", { alg: "HS512" }), "s")).toEqual({ ok: false, reason: "unsupported_alg" });
  });

  it.each(["", "a.b", "a.b.c.d", "!!.!!.!!", `${base64UrlEncode("[1]")}.${base64UrlEncode("{}")}.`, `${base64UrlEncode("{}")}.${base64UrlEncode("nope")}.`])(
    "treats %j as malformed",
    async (token) => {
      expect(decodeJwt(token)).toBeUndefined();
      expect(await verifyHs256(token, "s")).toEqual({ ok: false, reason: "malformed" });
    },
  );
});
