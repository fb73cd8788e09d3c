/**
 * The connector's handshake gate: at most `maxActive` upgrade requests in flight (a Worker
 * invocation may have six connections waiting for response headers; the rest of a Socket.IO
 * handshake runs on the open socket and does not count), the others wait in order. Pure: the
 * caller passes the time and calls `expire` (from its alarm) to let go of waiters whose session
 * gave up; nothing here sets a timer.
 * Invariants: `active <= maxActive`; `queued <= maxQueued` (past it `enter` answers "busy" at
 * once); every waiter is answered exactly once ("go", or "expired" at its deadline).
 */

export type GateAnswer = "go" | "expired" | "busy";

interface Waiter {
  deadline: number;
  answer(a: GateAnswer): void;
}

export class HandshakeGate {
  private activeCount = 0;
  private readonly waiting: Waiter[] = [];
  /** The most that waited at once, since the gate was made. */
  peakQueued = 0;

  constructor(private readonly maxActive: number, private readonly maxQueued: number) {}

  get active(): number {
    return this.activeCount;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Waits for a slot. "go": the caller holds a slot and must `leave()` once its upgrade answered.
   * "expired": `deadline` passed while waiting. "busy": the queue is full.
   */
  enter(deadline: number, now: number): Promise<GateAnswer> {
    if (now >= deadline) return Promise.resolve("expired");
    if (this.activeCount < this.maxActive && this.waiting.length === 0) {
      this.activeCount += 1;
      return Promise.resolve("go");
    }
    if (this.waiting.length >= this.maxQueued) return Promise.resolve("busy");
    return new Promise((answer) => {
      this.waiting.push({ deadline, answer });
      this.peakQueued = Math.max(this.peakQueued, this.waiting.length);
    });
  }

  /** A slot is free again: the oldest waiter still in time takes it. */
  leave(now: number): void {
    this.activeCount = Math.max(0, this.activeCount - 1);
    this.expire(now);
    const next = this.waiting.shift();
    if (next) {
      this.activeCount += 1;
      next.answer("go");
    }
  }

  /** Answers "expired" to every waiter whose deadline passed. */
  expire(now: number): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      if (now >= w.deadline) {
        this.waiting.splice(i, 1);
        w.answer("expired");
      } else i += 1;
    }
  }

  /** The earliest waiter's deadline, for the owner's alarm. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const w of this.waiting) next = next === undefined ? w.deadline : Math.min(next, w.deadline);
    return next;
  }
}
