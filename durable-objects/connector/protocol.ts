/**
 * What sessions and connectors say to each other by RPC (docs/architecture.md "Sessions and
 * connectors"). Plain data, so both sides and the tests share one definition.
 * Invariants:
 * - Every report names the connection it is about (`connectionId`, chosen by the session side and
 *   naming its connector: core/connector.ts); a session acts only on its current connection's
 *   reports and answers the others as `disowned`, which the connector then closes.
 * - A connector reports only to the session object that opened the connection.
 * The reports themselves (ConnectorReport, ReportsAnswer) are core/port.ts's: the session takes
 * them through its remote (`receive`).
 */
import type { OpenSessionRequest, OpenSessionResult } from "../../core/port";

export interface ConnectorOpen {
  /** The UserSession's object id (`ctx.id.toString()`): where the reports go. */
  session: string;
  /** `<connector name>/<uuid>`: the id both sides use for this connection. */
  connectionId: string;
  request: OpenSessionRequest;
  /**
   * `session`: the session's own connection (a connector holds at most one per session and closes
   * an older one when a newer open comes). `check`: a token proof's throwaway connection.
   */
  purpose: "session" | "check";
}

/** The open's answer: Kaleyra's, or `full` (this connector takes no more: try the next shard). */
export type ConnectorOpenResult = OpenSessionResult | { ok: false; error: "unavailable"; full: true };

/** What a connector holds, for the dev control API and the bench (never credentials). */
export interface ConnectorStats {
  /** When this instance was made: a new value means the connector restarted. */
  instanceStartedAt: number;
  held: number;
  opening: number;
  handshakes: { active: number; queued: number; peakQueued: number };
  orphansReported: number;
  opens: { asked: number; connected: number; refused: number; full: number };
  reports: { pushed: number; delivered: number; batches: number; coalesced: number; dropped: number; retries: number; pending: number; disowned: number };
  /** Report calls to sessions: how many, and their total and largest round trip (ms, wall clock). */
  reportCalls: { calls: number; failed: number; totalMs: number; maxMs: number };
}
