/**
 * The connectors stage's bookkeeping: what every client sees, time-stamped, and the connectors'
 * own counts turned into per-phase figures.
 */
import { round } from "../lib/stats.mjs";

/** What every client sees, time-stamped: token requests, states, relayed events. */
export function tracker() {
  const t = { refreshRequests: 0, refreshed: [], events: new Map(), lostAt: [], backAt: [], backAttempt: [], answeredAt: new Map() };
  t.onFrame = (frame, at, c) => {
    if (frame.type === "token_request" && frame.expiresAt !== undefined) {
      t.refreshRequests += 1;
      c.refreshAnsweredAt = at;
    }
    if (frame.type === "remote_event") {
      const list = t.events.get(frame.name) ?? [];
      list.push({ at, user: c.userId, data: frame.data });
      t.events.set(frame.name, list);
    }
    if (frame.type !== "state") return;
    const s = frame.state;
    if (c.last?.refreshing && !s.refreshing && s.status === "connected" && c.refreshAnsweredAt !== undefined) {
      t.refreshed.push(at - c.refreshAnsweredAt);
      c.refreshAnsweredAt = undefined;
    }
    if (s.status === "reconnecting" && s.lastError === "remote_lost" && c.last?.status === "connected") t.lostAt.push(at);
    if (s.status === "connected" && c.last?.status === "reconnecting") {
      t.backAt.push(at);
      t.backAttempt.push(c.last.reconnectAttempt);
    }
    c.last = s;
  };
  return t;
}

export function sum(list, pick) {
  return list.reduce((a, s) => a + pick(s), 0);
}

export function reportCallStats(before, after) {
  const calls = sum(after, (s) => s.reportCalls.calls) - sum(before, (s) => s.reportCalls.calls);
  const ms = sum(after, (s) => s.reportCalls.totalMs) - sum(before, (s) => s.reportCalls.totalMs);
  return { calls, meanMs: calls > 0 ? round(ms / calls, 2) : undefined };
}

export function burstStats(before, after, events, seconds, cpu) {
  const calls = sum(after, (s) => s.reportCalls.calls) - sum(before, (s) => s.reportCalls.calls);
  const reports = sum(after, (s) => s.reports.delivered) - sum(before, (s) => s.reports.delivered);
  return {
    events,
    seconds: round(seconds, 2),
    eventsPerSecond: round(events / seconds / Math.max(1, after.length), 1),
    reportCalls: calls,
    reportsPerCall: calls > 0 ? round(reports / calls, 2) : undefined,
    cpuMsPerEvent: round(cpu / Math.max(1, events), 3),
    dropped: sum(after, (s) => s.reports.dropped) - sum(before, (s) => s.reports.dropped),
  };
}
