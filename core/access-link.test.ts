import { describe, expect, it } from "vitest";
import { accessLinkDigest, canonicalAccessLink, sameAccessLink } from "./access-link";

const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/AbC123";

describe("canonical access links: variants of one link are one session", () => {
  it.each([
    "https://SANDBOX.Bandyer.COM/eu/direct-rest-call-handler/AbC123",
    "https://sandbox.bandyer.com:443/eu/direct-rest-call-handler/AbC123",
    "https://sandbox.bandyer.com/eu/direct-rest-call-handler/AbC123/",
    "https://sandbox.bandyer.com/eu/direct-rest-call-handler/AbC123#join",
    "https://sandbox.bandyer.com/eu/direct-rest-call-handler/AbC123?ad=1&vd=0&dn=Bob",
  ])("%s is the same call", async (variant) => {
    expect(canonicalAccessLink(variant)).toBe(LINK);
    expect(await accessLinkDigest(variant)).toBe(await accessLinkDigest(LINK));
    expect(sameAccessLink(variant, LINK)).toBe(true);
  });

  it("another code, path case or port is another call", async () => {
    for (const other of [LINK.replace("AbC123", "AbC124"), LINK.replace("AbC123", "abc123"), LINK.replace(".com/", ".com:8443/")]) {
      expect(await accessLinkDigest(other)).not.toBe(await accessLinkDigest(LINK));
    }
  });

  it("the digest is 64 lower-case hex digits of SHA-256 over the canonical form", async () => {
    expect(await accessLinkDigest(LINK)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(["http://sandbox.bandyer.com/x", "ftp://x.test/a", "not a link", "https://user:pw@sandbox.bandyer.com/x"])("%s is not an access link", async (bad) => {
    expect(canonicalAccessLink(bad)).toBeUndefined();
    expect(await accessLinkDigest(bad)).toBeUndefined();
    expect(sameAccessLink(bad, bad)).toBe(false);
  });
});
