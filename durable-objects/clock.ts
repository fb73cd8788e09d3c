/**
 * The session's clock. In production it is Date.now(). When the TEST_CLOCK binding is "1" (only
 * in vitest.config.ts), a test may move one object's clock forward with `advance`, so the seed's
 * real delays (1 s, 4 s, 15 s, 60 s) are exercised under workerd without waiting; the physical
 * alarm stays in real time, and tests fire it with runDurableObjectAlarm.
 * The offset is stored, so it survives eviction like the rest of the session.
 */
const OFFSET_KEY = "testClockOffsetMs";

export class SessionClock {
  private offsetMs: number;

  constructor(private readonly kv: SyncKvStorage, private readonly testable: boolean) {
    this.offsetMs = testable ? (kv.get<number>(OFFSET_KEY) ?? 0) : 0;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** The real time at which a duty due at session time `at` must fire. */
  toRealTime(at: number): number {
    return at - this.offsetMs;
  }

  advance(ms: number): void {
    if (!this.testable) throw new Error("the session clock only moves when TEST_CLOCK is 1");
    this.offsetMs += ms;
    this.kv.put(OFFSET_KEY, this.offsetMs);
  }
}
