import { describe, expect, it } from "vitest";
import { parseAppSettings } from "./app";
import { DEFAULT_GRACE_SECONDS, graceMsOf, parseUpstream } from "./upstream";

describe("an app's upstream policy", () => {
  it("keeps the connection always by default; grace closes it after graceSeconds (default 300)", () => {
    expect(graceMsOf(undefined)).toBeUndefined();
    expect(graceMsOf({ keep: "always" })).toBeUndefined();
    expect(graceMsOf({ keep: "grace" })).toBe(DEFAULT_GRACE_SECONDS * 1_000);
    expect(graceMsOf({ keep: "grace", graceSeconds: 60 })).toBe(60_000);
  });

  it("is part of the app's settings, and refuses what it does not know, naming the field", () => {
    expect(parseAppSettings({ environment: "sandbox", region: "eu", upstream: { keep: "grace", graceSeconds: 60, pool: "own" } })).toEqual({
      ok: true,
      value: { environment: "sandbox", region: "eu", upstream: { keep: "grace", graceSeconds: 60, pool: "own" } },
    });
    const field = (input: unknown) => {
      const r = parseUpstream(input);
      return r.ok ? "ok" : r.error.field;
    };
    expect(field({ keep: "sometimes" })).toBe("upstream.keep");
    expect(field({ graceSeconds: 60 })).toBe("upstream.graceSeconds");
    expect(field({ keep: "grace", graceSeconds: 5 })).toBe("upstream.graceSeconds");
    expect(field({ pool: "mine" })).toBe("upstream.pool");
    expect(field({ poll: "own" })).toBe("upstream.poll");
    expect(field([])).toBe("upstream");
  });
});
