import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, parseRetryPolicy, reconnectDelay, tokenAttemptDelay, type RetryPolicy } from "./policy";
import { seq } from "./testing";

const P = DEFAULT_RETRY_POLICY;

describe("DEFAULT_RETRY_POLICY is the seed's schedule", () => {
  it("has 3 token attempts: at once, after 1 s, after 4 s; 15 s per attempt; jitter up to 2 s", () => {
    expect(P.tokenAttemptDelaysMs).toEqual([0, 1_000, 4_000]);
    expect(P.tokenAttemptTimeoutMs).toBe(15_000);
    expect(P.jitterMaxMs).toBe(2_000);
  });

  it("reconnects at once, then after 3, 9, 27, 60, 120 s, then every 60 s", () => {
    expect(P.reconnectDelaysMs).toEqual([0, 3_000, 9_000, 27_000, 60_000, 120_000]);
    expect(P.reconnectSteadyDelayMs).toBe(60_000);
  });

  it("has exactly these keys", () => {
    expect(Object.keys(P).sort()).toEqual(
      ["jitterMaxMs", "reconnectDelaysMs", "reconnectSteadyDelayMs", "tokenAttemptDelaysMs", "tokenAttemptTimeoutMs"],
    );
  });

  it("cannot be changed by a caller", () => {
    expect(Object.isFrozen(P)).toBe(true);
    expect(Object.isFrozen(P.tokenAttemptDelaysMs)).toBe(true);
    expect(Object.isFrozen(P.reconnectDelaysMs)).toBe(true);
  });
});

describe("tokenAttemptDelay", () => {
  it("attempt 1 (index 0) is at once, with no jitter drawn", () => {
    const random = seq();
    expect(tokenAttemptDelay(P, 0, random)).toBe(0);
    expect(random.left).toBe(0);
  });

  it("attempt 2 waits 1 s + j*2 s", () => {
    expect(tokenAttemptDelay(P, 1, seq(0))).toBe(1_000);
    expect(tokenAttemptDelay(P, 1, seq(0.25))).toBe(1_500);
    expect(tokenAttemptDelay(P, 1, seq(0.9999))).toBe(3_000);
  });

  it("attempt 3 waits 4 s + j*2 s", () => {
    expect(tokenAttemptDelay(P, 2, seq(0))).toBe(4_000);
    expect(tokenAttemptDelay(P, 2, seq(0.75))).toBe(5_500);
    expect(tokenAttemptDelay(P, 2, seq(0.9999))).toBe(6_000);
  });

  it("jitter is a whole number of ms, uniform over every value in [0, 2000]", () => {
    // floor(r * 2001): each of the 2001 values has an equal share of [0, 1).
    expect(tokenAttemptDelay(P, 1, seq(1999.5 / 2001))).toBe(1_000 + 1_999);
    expect(tokenAttemptDelay(P, 1, seq(2000 / 2001))).toBe(1_000 + 2_000);
    expect(tokenAttemptDelay(P, 1, seq(1 / 2001 - 1e-9))).toBe(1_000);
    expect(Number.isInteger(tokenAttemptDelay(P, 1, seq(0.123456789)))).toBe(true);
  });

  it("draws exactly one fresh jitter per delay", () => {
    const random = seq(0.5, 0.25);
    expect(tokenAttemptDelay(P, 1, random)).toBe(2_000);
    expect(tokenAttemptDelay(P, 2, random)).toBe(4_500);
    expect(random.left).toBe(0);
  });

  it("is undefined after the 3rd attempt (the cycle is spent), without drawing", () => {
    const random = seq();
    expect(tokenAttemptDelay(P, 3, random)).toBeUndefined();
    expect(tokenAttemptDelay(P, 10, random)).toBeUndefined();
  });
});

describe("reconnectDelay", () => {
  it("reconnect attempt 1 (index 0) is at once, with no jitter drawn", () => {
    const random = seq();
    expect(reconnectDelay(P, 0, random)).toBe(0);
    expect(random.left).toBe(0);
  });

  it.each([
    [1, 3_000],
    [2, 9_000],
    [3, 27_000],
    [4, 60_000],
    [5, 120_000],
    [6, 60_000],
    [7, 60_000],
    [100, 60_000],
  ])("index %i waits %i ms + j*2 s", (index, base) => {
    expect(reconnectDelay(P, index, seq(0))).toBe(base);
    expect(reconnectDelay(P, index, seq(0.5))).toBe(base + 1_000);
    expect(reconnectDelay(P, index, seq(0.9999))).toBe(base + 2_000);
  });

  it("uses the policy's own steady delay and jitter", () => {
    const custom: RetryPolicy = { ...P, reconnectDelaysMs: [0, 10], reconnectSteadyDelayMs: 500, jitterMaxMs: 100 };
    expect(reconnectDelay(custom, 1, seq(0.5))).toBe(60);
    expect(reconnectDelay(custom, 2, seq(0.5))).toBe(550);
  });
});

describe("parseRetryPolicy", () => {
  const refused = (input: unknown, field: string) => {
    const r = parseRetryPolicy(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("bad_request");
      expect(r.error.field).toBe(field);
    }
  };

  it("gives the defaults for undefined and for {}", () => {
    expect(parseRetryPolicy(undefined)).toEqual({ ok: true, value: P });
    expect(parseRetryPolicy({})).toEqual({ ok: true, value: P });
  });

  it("merges a partial override over the defaults", () => {
    expect(parseRetryPolicy({ tokenAttemptTimeoutMs: 5_000 })).toEqual({ ok: true, value: { ...P, tokenAttemptTimeoutMs: 5_000 } });
    expect(parseRetryPolicy({ reconnectDelaysMs: [0, 100], jitterMaxMs: 0 })).toEqual({
      ok: true,
      value: { ...P, reconnectDelaysMs: [0, 100], jitterMaxMs: 0 },
    });
  });

  it("accepts a full override", () => {
    const full = {
      tokenAttemptDelaysMs: [0, 10, 20, 30],
      tokenAttemptTimeoutMs: 1,
      reconnectDelaysMs: [0],
      reconnectSteadyDelayMs: 86_400_000,
      jitterMaxMs: 86_400_000,
    };
    expect(parseRetryPolicy(full)).toEqual({ ok: true, value: full });
  });

  it("refuses a non-object", () => {
    refused(null, "retryPolicy");
    refused([], "retryPolicy");
    refused("fast", "retryPolicy");
    refused(3, "retryPolicy");
  });

  it("refuses unknown keys, so a typo does not fall back to a default", () => {
    refused({ tokenAttemptTimeout: 5_000 }, "retryPolicy.tokenAttemptTimeout");
    refused({ jitterMaxMs: 10, extra: 1 }, "retryPolicy.extra");
  });

  it("refuses non-integers and non-numbers", () => {
    refused({ tokenAttemptTimeoutMs: 1.5 }, "retryPolicy.tokenAttemptTimeoutMs");
    refused({ jitterMaxMs: "2000" }, "retryPolicy.jitterMaxMs");
    refused({ reconnectSteadyDelayMs: Number.NaN }, "retryPolicy.reconnectSteadyDelayMs");
    refused({ reconnectDelaysMs: [0, 2.5] }, "retryPolicy.reconnectDelaysMs[1]");
    refused({ tokenAttemptDelaysMs: [0, "1000"] }, "retryPolicy.tokenAttemptDelaysMs[1]");
  });

  it("refuses negatives", () => {
    refused({ jitterMaxMs: -1 }, "retryPolicy.jitterMaxMs");
    refused({ tokenAttemptDelaysMs: [0, -1] }, "retryPolicy.tokenAttemptDelaysMs[1]");
    refused({ reconnectDelaysMs: [0, 3_000, -3_000] }, "retryPolicy.reconnectDelaysMs[2]");
  });

  it("refuses durations over a day", () => {
    refused({ tokenAttemptTimeoutMs: 86_400_001 }, "retryPolicy.tokenAttemptTimeoutMs");
    refused({ reconnectDelaysMs: [0, 86_400_001] }, "retryPolicy.reconnectDelaysMs[1]");
  });

  it("refuses a table whose first entry is not 0", () => {
    refused({ tokenAttemptDelaysMs: [1, 1_000] }, "retryPolicy.tokenAttemptDelaysMs[0]");
    refused({ reconnectDelaysMs: [3_000] }, "retryPolicy.reconnectDelaysMs[0]");
  });

  it("refuses empty, too long, or non-array tables", () => {
    refused({ tokenAttemptDelaysMs: [] }, "retryPolicy.tokenAttemptDelaysMs");
    refused({ reconnectDelaysMs: [0, ...Array<number>(16).fill(1)] }, "retryPolicy.reconnectDelaysMs");
    refused({ reconnectDelaysMs: "0,3000" }, "retryPolicy.reconnectDelaysMs");
    expect(parseRetryPolicy({ reconnectDelaysMs: [0, ...Array<number>(15).fill(1)] }).ok).toBe(true);
  });

  it("refuses a zero timeout or zero steady delay (an endless loop of instant attempts)", () => {
    refused({ tokenAttemptTimeoutMs: 0 }, "retryPolicy.tokenAttemptTimeoutMs");
    refused({ reconnectSteadyDelayMs: 0 }, "retryPolicy.reconnectSteadyDelayMs");
  });
});
