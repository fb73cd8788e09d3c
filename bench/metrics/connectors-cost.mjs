/**
 * What a connected user costs, from the connectors stage's measurements (docs/performance.md "What
 * a connected user costs" gives the same formula in words). Per user-hour:
 *
 *   awake    = idle object-seconds (sessions + connectors) + s_refresh / T + s_wake / C
 *   billable = connectors' object-seconds (they cannot hibernate) + a_refresh / T + a_wake / C
 *   requests = connector alarms + (alarm + update RPC + client answer / 20) / T + (alarm + check RPC) / C
 *   rows     = connector setAlarms + ROWS_PER_REFRESH / T + ROWS_PER_CHECK / C
 *
 * T: the token lifetime (one refresh per lifetime); C: the session's safety check (6 h,
 * core/refresh.ts). s_refresh, s_wake: measured extra session object-seconds per refresh and per
 * relayed event (a check wakes a session like an event does). a_*: the time a session is actually
 * busy (not hibernatable): the report call's round trip, and the client's answer -> refreshed time
 * for the refresh's update (an upper bound: both include the transport). One relayed event per user
 * per minute adds 60 report calls, 60 rows (the relay's stream, stored per event) and 60 x a_wake.
 */
import { costPerUserMonth, PRICES } from "../lib/cost.mjs";
import { round } from "../lib/stats.mjs";

export const LIVENESS_CHECK_H = 6; // core/refresh.ts
export const TOKEN_LIFETIMES_H = [1, 12, 24];
/** The token lifetime of the headline figures: a tenant minting 12 h tokens (Kaleyra allows 6 min to 24 h). */
export const HEADLINE_TOKEN_H = 12;
/** Rows a refresh writes: the state at its start, at the token's answer and at Kaleyra's ack, and the alarm each re-arms. */
const ROWS_PER_REFRESH = 6;
/** A safety check: the state (the next check's time) and the alarm. */
const ROWS_PER_CHECK = 2;

export function costModel(m) {
  const hours = (s) => s / 3600;
  const perUserHour = (objectSeconds, seconds) => objectSeconds / m.users / hours(seconds);
  const idleSessions = perUserHour(m.idle.objectSeconds.sessions, m.idle.seconds);
  const idleConnectors = perUserHour(m.idle.objectSeconds.connectors, m.idle.seconds);
  // Extra session object-seconds per refresh / per event: what the phase measured beyond the idle rate.
  const extra = (phase, count) => Math.max(0, phase.objectSeconds.sessions - (m.idle.objectSeconds.sessions / m.idle.seconds) * phase.seconds) / Math.max(1, count);
  const perRefresh = extra(m.refresh, m.refresh.refreshes);
  const perWake = extra(m.event, m.event.events);
  const activeWake = (m.reportCalls.meanMs ?? 0) / 1000;
  const activeRefresh = activeWake + (m.refresh.answerToRefreshedMs?.p50 ?? 0) / 1000;
  const connectorAlarms = m.idle.counts.connectorAlarms / m.users / hours(m.idle.seconds);
  const scenario = (tokenH, eventsPerHour = 0) => {
    const awake = idleSessions + idleConnectors + perRefresh / tokenH + perWake / LIVENESS_CHECK_H + perWake * eventsPerHour;
    const billable = idleConnectors + activeRefresh / tokenH + activeWake / LIVENESS_CHECK_H + activeWake * eventsPerHour;
    const requests = connectorAlarms + (2 + 1 / PRICES.webSocketMessagesPerRequest) / tokenH + 2 / LIVENESS_CHECK_H + eventsPerHour;
    const rowsWritten = connectorAlarms + ROWS_PER_REFRESH / tokenH + ROWS_PER_CHECK / LIVENESS_CHECK_H + eventsPerHour;
    const cost = costPerUserMonth({ billableSeconds: billable, requests, rowsWritten });
    return { tokenLifetimeH: tokenH, eventsPerHour, awakeSeconds: round(awake, 2), billableSeconds: round(billable, 3), requests: round(requests, 3), rowsWritten: round(rowsWritten, 3), usdPerMonth: round(cost.usd, 5), terms: { durationUsd: round(cost.durationUsd, 5), requestsUsd: round(cost.requestsUsd, 5), rowsUsd: round(cost.rowsUsd, 5) } };
  };
  const idle = Object.fromEntries(TOKEN_LIFETIMES_H.map((h) => [`${h}h`, scenario(h)]));
  const withEvents = scenario(HEADLINE_TOKEN_H, 60);
  const head = idle[`${HEADLINE_TOKEN_H}h`];
  return {
    prices: PRICES,
    inputs: {
      idleSessionSecondsPerUserHour: round(idleSessions, 3),
      idleConnectorSecondsPerUserHour: round(idleConnectors, 3),
      sessionSecondsPerRefresh: round(perRefresh, 2),
      sessionSecondsPerWake: round(perWake, 2),
      activeSecondsPerWake: round(activeWake, 4),
      activeSecondsPerRefresh: round(activeRefresh, 4),
      connectorAlarmsPerUserHour: round(connectorAlarms, 4),
      livenessCheckH: LIVENESS_CHECK_H,
      rowsPerRefresh: ROWS_PER_REFRESH,
      rowsPerCheck: ROWS_PER_CHECK,
    },
    awake: { headline: head.awakeSeconds, tokenLifetimeH: HEADLINE_TOKEN_H },
    billable: { headline: head.billableSeconds, share: round(head.billableSeconds / Math.max(1e-9, head.awakeSeconds), 3) },
    usd: { idle: head.usdPerMonth, eventPerMinute: withEvents.usdPerMonth },
    scenarios: { idle, eventPerMinute: withEvents },
  };
}
