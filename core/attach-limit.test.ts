/** The per-client attach limit (core/attach-limit.ts): keys and the bounded table. */
import { describe, expect, it } from "vitest";
import { ATTACH_WINDOW_MS, attachKey, AttachLimiter } from "./attach-limit";

describe("which key an address counts under", () => {
  it("an IPv4 address is its own key; an IPv4-mapped IPv6 address counts as that IPv4 address", () => {
    expect(attachKey("203.0.113.7")).toBe("203.0.113.7");
    expect(attachKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(attachKey("::ffff:cb00:7107")).toBe("203.0.113.7");
  });

  it("an IPv6 address counts by its /64, however it is written", () => {
    const key = attachKey("2001:db8:1:2::1");
    for (const ip of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:0:0:0:abcd", "[2001:DB8:1:2::9]"]) expect(attachKey(ip)).toBe(key);
    expect(attachKey("2001:db8:1:3::1")).not.toBe(key);
  });

  it("anything else counts as itself", () => {
    expect(attachKey("unknown")).toBe("unknown");
  });
});

describe("the table of windows", () => {
  it("allows `limit` attempts per key per minute, then refuses until the window ends", () => {
    const limiter = new AttachLimiter();
    expect([1, 2, 3, 4].map(() => limiter.allow("k", 0, 3))).toEqual([true, true, true, false]);
    expect(limiter.allow("k", ATTACH_WINDOW_MS - 1, 3)).toBe(false);
    expect(limiter.allow("k", ATTACH_WINDOW_MS, 3)).toBe(true);
  });

  it("attack: rotating addresses inside one IPv6 /64 does not get past the limit", () => {
    const limiter = new AttachLimiter();
    const allowed = Array.from({ length: 10 }, (_, i) => limiter.allow(attachKey(`2001:db8:aa:bb::${(i + 1).toString(16)}`), 0, 3));
    expect(allowed.filter(Boolean)).toHaveLength(3);
  });

  it("attack: filling the table with fresh addresses evicts the oldest windows only, so a limited client stays limited", () => {
    const limiter = new AttachLimiter(100);
    for (let i = 0; i < 100; i++) limiter.allow(`flood-${i}`, 0, 3);
    for (let i = 0; i < 3; i++) limiter.allow("limited", 5, 3);
    expect(limiter.allow("limited", 5, 3)).toBe(false);
    for (let i = 100; i < 150; i++) limiter.allow(`flood-${i}`, 6, 3);
    expect(limiter.size).toBe(100);
    expect(limiter.allow("limited", 7, 3)).toBe(false);
  });
});
