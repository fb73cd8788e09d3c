/**
 * The connector's reports to sessions (docs/architecture.md "Reports"), one queue per session.
 * Pure: the caller passes the time and performs the calls.
 *
 * Each report to a session is one RPC, which costs the connector CPU (about 0.85 ms locally per
 * call, issue 22), so reports are batched: at most one call in flight per session, and whatever
 * arrives meanwhile goes in the next call, in order. Invariants:
 * - Order: a session receives its reports in the order they were pushed; a batch that failed is
 *   retried before anything after it.
 * - Bounded: at most `maxQueue` reports wait per session; past it the oldest droppable one
 *   (a relayed event) goes first, and only then the oldest of any kind. Drops are counted.
 * - Coalescing: a report pushed with a `coalesce` key replaces a queued, not yet sent report with
 *   the same key (a second "token expiring" says nothing new).
 * - A failed call is retried after `retryDelaysMs[i]`; after the last one the batch is dropped
 *   (counted): the session's own safety check (core/refresh.ts) finds a connection it was never
 *   told it lost.
 */

export interface OutboxLimits {
  maxBatch: number;
  maxQueue: number;
  retryDelaysMs: readonly number[];
}

const OUTBOX_LIMITS: OutboxLimits = { maxBatch: 64, maxQueue: 512, retryDelaysMs: [1_000, 5_000, 30_000] };

interface Queued<R> {
  report: R;
  droppable: boolean;
  coalesce?: string;
}

interface Queue<R> {
  waiting: Queued<R>[];
  /** The batch in flight (or waiting for its retry), oldest first. */
  sent?: Queued<R>[];
  failures: number;
  retryAt?: number;
}

export interface OutboxStats {
  pushed: number;
  delivered: number;
  batches: number;
  coalesced: number;
  dropped: number;
  retries: number;
}

export class ReportOutbox<R> {
  private readonly queues = new Map<string, Queue<R>>();
  readonly stats: OutboxStats = { pushed: 0, delivered: 0, batches: 0, coalesced: 0, dropped: 0, retries: 0 };

  constructor(private readonly limits: OutboxLimits = OUTBOX_LIMITS) {}

  /** Queues one report for `target`; true when the target has no call in flight (send it now). */
  push(target: string, report: R, options: { droppable?: boolean; coalesce?: string } = {}): boolean {
    this.stats.pushed += 1;
    const q = this.queues.get(target) ?? { waiting: [], failures: 0 };
    this.queues.set(target, q);
    const entry: Queued<R> = { report, droppable: options.droppable === true, ...(options.coalesce === undefined ? {} : { coalesce: options.coalesce }) };
    const same = options.coalesce === undefined ? -1 : q.waiting.findIndex((w) => w.coalesce === options.coalesce);
    if (same >= 0) {
      q.waiting[same] = entry;
      this.stats.coalesced += 1;
    } else {
      q.waiting.push(entry);
    }
    while (q.waiting.length + (q.sent?.length ?? 0) > this.limits.maxQueue && q.waiting.length > 0) {
      const i = q.waiting.findIndex((w) => w.droppable);
      q.waiting.splice(i >= 0 ? i : 0, 1);
      this.stats.dropped += 1;
    }
    return q.sent === undefined;
  }

  /**
   * The next batch for `target`, marked in flight; undefined when a call is in flight, a retry is
   * not due yet, or nothing waits. A batch waiting for its retry is sent again whole, then more.
   */
  take(target: string, now: number): R[] | undefined {
    const q = this.queues.get(target);
    if (!q) return undefined;
    if (q.sent !== undefined) {
      if (q.retryAt === undefined || now < q.retryAt) return undefined;
      q.retryAt = undefined;
      this.stats.retries += 1;
      this.stats.batches += 1;
      return q.sent.map((e) => e.report);
    }
    if (q.waiting.length === 0) {
      this.queues.delete(target);
      return undefined;
    }
    q.sent = q.waiting.splice(0, this.limits.maxBatch);
    this.stats.batches += 1;
    return q.sent.map((e) => e.report);
  }

  /** The batch in flight reached the session. */
  delivered(target: string): void {
    const q = this.queues.get(target);
    if (!q?.sent) return;
    this.stats.delivered += q.sent.length;
    q.sent = undefined;
    q.failures = 0;
    q.retryAt = undefined;
    if (q.waiting.length === 0) this.queues.delete(target);
  }

  /** The batch in flight failed: retried later, or dropped after the last retry. */
  failed(target: string, now: number): "retry" | "dropped" {
    const q = this.queues.get(target);
    if (!q?.sent) return "dropped";
    const delay = this.limits.retryDelaysMs[q.failures];
    q.failures += 1;
    if (delay === undefined) {
      this.stats.dropped += q.sent.length;
      q.sent = undefined;
      q.failures = 0;
      if (q.waiting.length === 0) this.queues.delete(target);
      return "dropped";
    }
    q.retryAt = now + delay;
    return "retry";
  }

  /** Targets whose batch may be sent at `now`: a due retry, or reports with no call in flight. */
  ready(now: number): string[] {
    const out: string[] = [];
    for (const [target, q] of this.queues) {
      if (q.sent === undefined ? q.waiting.length > 0 : q.retryAt !== undefined && now >= q.retryAt) out.push(target);
    }
    return out;
  }

  /** When the earliest retry is due; undefined when none waits. */
  nextRetryAt(): number | undefined {
    let next: number | undefined;
    for (const q of this.queues.values()) if (q.retryAt !== undefined) next = next === undefined ? q.retryAt : Math.min(next, q.retryAt);
    return next;
  }

  /** Reports waiting or in flight, over every session. */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting.length + (q.sent?.length ?? 0);
    return n;
  }
}
