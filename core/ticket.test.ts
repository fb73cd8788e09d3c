/** Attach tickets' claims and one use (core/ticket.ts), with an injected clock. */
import { describe, expect, it } from "vitest";
import { MAX_REMEMBERED_TICKETS, nextTicketExpiry, ticketClaims, useTicket } from "./ticket";

const NOW = 1_800_000_000_000;
const NOW_SEC = NOW / 1_000;
const who = { appId: "mAppId_a", userId: "alice" };
const claims = (extra: Record<string, unknown> = {}) => ({ ...who, exp: NOW_SEC + 300, jti: "t-1", ...extra });

describe("a ticket's claims", () => {
  it("are accepted for the app's user, unexpired, at most 5 minutes (plus 30 s of skew) ahead, with a jti", () => {
    expect(ticketClaims(claims(), who, NOW)).toEqual({ jti: "t-1", expMs: (NOW_SEC + 300) * 1_000 });
    expect(ticketClaims(claims({ exp: NOW_SEC + 330 }), who, NOW)).toBeDefined();
  });

  it.each([
    ["expired", { exp: NOW_SEC }],
    ["exp in milliseconds", { exp: NOW + 60_000 }],
    ["exp more than 5 minutes and the skew ahead", { exp: NOW_SEC + 331 }],
    ["exp not an integer", { exp: NOW_SEC + 1.5 }],
    ["no jti", { jti: undefined }],
    ["an empty jti", { jti: "" }],
    ["a jti over 128 characters", { jti: "j".repeat(129) }],
    ["a jti that is not a string", { jti: 7 }],
    ["another user", { userId: "bob" }],
    ["another app", { appId: "mAppId_b" }],
  ])("are refused: %s", (_name, extra) => {
    expect(ticketClaims(claims(extra), who, NOW)).toBeUndefined();
  });
});

describe("a ticket's one use", () => {
  const ticket = { jti: "t-1", expMs: NOW + 300_000 };

  it("is remembered, and a second use before it expires is a replay", () => {
    const first = useTicket([], ticket, NOW);
    expect(first).toEqual({ ok: true, remembered: [ticket] });
    expect(useTicket(first.ok ? first.remembered : [], ticket, NOW + 299_999)).toEqual({ ok: false, reason: "replayed" });
  });

  it("forgets expired tickets as it goes", () => {
    const old = { jti: "old", expMs: NOW - 1 };
    expect(useTicket([old], ticket, NOW)).toEqual({ ok: true, remembered: [ticket] });
  });

  it("refuses a new ticket when the memory is full, rather than forget a live one", () => {
    const full = Array.from({ length: MAX_REMEMBERED_TICKETS }, (_, i) => ({ jti: `t${i}`, expMs: NOW + 1_000 + i }));
    expect(useTicket(full, { jti: "new", expMs: NOW + 5_000 }, NOW)).toEqual({ ok: false, reason: "full" });
    expect(useTicket(full, { jti: "new", expMs: NOW + 5_000 }, NOW + 1_000).ok).toBe(true);
    expect(nextTicketExpiry(full)).toBe(NOW + 1_000);
    expect(nextTicketExpiry([])).toBeUndefined();
  });
});
