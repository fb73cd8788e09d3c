/**
 * A connector: one Durable Object holding the Kaleyra Socket.IO connections of many users, so
 * that their sessions hold none and hibernate (docs/architecture.md "Sessions and connectors").
 * Glue: the rules are in core/connector*.ts.
 * Invariants:
 * - It never decides anything about a session: it opens, updates, emits and closes when a session
 *   asks, and reports what Kaleyra says. It never reopens a connection on its own.
 * - Reports go only to the session that opened the connection, tagged with its id, in order, in
 *   batches (core/connector-outbox.ts).
 * - Storage knows every session connection it holds: after a restart (a deploy, an eviction, a
 *   crash) every one of them is reported `lost` to its session. The alarm survives the restart,
 *   and is never armed further than WATCHDOG_MS ahead while anything is held.
 * - No timers: the connections' deadlines (handshake, acks, heartbeat), the handshake queue and
 *   report retries all run on the one alarm.
 * - Its adapter to Kaleyra is its composition root's (worker/index.ts, dev/index.ts,
 *   test/worker.ts), given to the constructor as a ConnectorUpstream: this layer never names one.
 */
import { DurableObject } from "cloudflare:workers";
import { HandshakeGate } from "../../core/connector-gate";
import { connectorConfig, type ConnectorConfig } from "../../core/connector";
import { ReportOutbox } from "../../core/connector-outbox";
import { HANDSHAKE_TIMEOUT_MS, type ConnectorReport, type KaleyraRemote, type RemoteEmitResult, type RemoteNotice, type ReportsAnswer, type UpdateTokenResult } from "../../core/port";
import type { Env } from "../bindings";
import { userSessionById } from "../stubs";
import { HeldConnections } from "./held";
import type { ConnectorOpen, ConnectorOpenResult, ConnectorStats } from "./protocol";
import { gatedFetch, GATE_WAIT_MS, type ConnectorUpstream } from "./upstream";

/** While anything is held, the alarm is never further away: a restart is noticed within it. */
const WATCHDOG_MS = 10_000;
/** An open's latest end: its wait for a handshake slot, the upgrade and the Socket.IO handshake. */
const OPEN_BOUND_MS = GATE_WAIT_MS + HANDSHAKE_TIMEOUT_MS;

interface Opening {
  session: string;
  purpose: ConnectorOpen["purpose"];
  startedAt: number;
  cancelled: boolean;
}

export class KaleyraConnector extends DurableObject<Env> {
  private readonly config: ConnectorConfig;
  private readonly gate: HandshakeGate;
  private readonly upstream: KaleyraRemote;
  private readonly held: HeldConnections;
  private readonly opening = new Map<string, Opening>();
  private readonly outbox = new ReportOutbox<ConnectorReport>();
  /** Connections of an earlier instance whose `lost` report is not delivered yet. */
  private readonly orphans = new Set<string>();
  private orphansReported = 0;
  private pendingOrphans: [string, { session: string }][];
  private armedAt: number | undefined;
  private readonly counts = { asked: 0, connected: 0, refused: 0, full: 0, disowned: 0 };
  private readonly calls = { calls: 0, failed: 0, totalMs: 0, maxMs: 0 };
  private readonly startedAt = Date.now();

  constructor(ctx: DurableObjectState, env: Env, upstream: ConnectorUpstream) {
    super(ctx, env);
    const { config, invalid } = connectorConfig(env);
    if (invalid.length > 0) console.warn("connector: vars out of bounds, defaults used", { vars: invalid });
    this.config = config;
    this.gate = new HandshakeGate(config.maxHandshakes, config.maxQueued);
    this.upstream = upstream((fetch) => gatedFetch(this.gate, fetch));
    this.upstream.listen((upstreamId, notice) => this.onUpstream(upstreamId, notice));
    this.held = new HeldConnections(ctx.storage.kv);
    // This instance holds nothing yet: whatever storage lists died with an earlier one.
    this.pendingOrphans = this.held.stored();
  }

  /** Opens a user's connection for a session; settles once Kaleyra said connected, or did not. */
  async open(o: ConnectorOpen): Promise<ConnectorOpenResult> {
    this.wake();
    this.counts.asked += 1;
    if (this.held.size + this.opening.size >= this.config.maxSockets) {
      this.counts.full += 1;
      return { ok: false, error: "unavailable", full: true };
    }
    // A session has one connection: a newer open means it gave up on the older one.
    if (o.purpose === "session") this.dropOlder(o.session, o.connectionId);
    const entry: Opening = { session: o.session, purpose: o.purpose, startedAt: Date.now(), cancelled: false };
    this.opening.set(o.connectionId, entry);
    const pending = this.upstream.openSession(o.request);
    await this.arm();
    const result = await pending.catch(() => ({ ok: false as const, error: "unavailable" as const }));
    this.opening.delete(o.connectionId);
    if (!result.ok) {
      this.counts.refused += 1;
      await this.arm();
      return result;
    }
    const upstreamId = result.sessionId ?? "";
    if (entry.cancelled) {
      await this.upstream.closeSession({ sessionId: upstreamId });
      return { ok: false, error: "unavailable" };
    }
    this.held.add(o.connectionId, { session: o.session, purpose: o.purpose }, upstreamId);
    this.counts.connected += 1;
    await this.arm();
    return { ...result, sessionId: o.connectionId };
  }

  /** `switchboard:access_token:update` on the session's connection, with Kaleyra's ack. */
  async updateToken(session: string, connectionId: string, token: string): Promise<UpdateTokenResult> {
    this.wake();
    const held = this.owned(session, connectionId);
    if (!held) return { ok: false, error: "unavailable" };
    const pending = this.upstream.updateToken(held.upstream, token);
    await this.arm();
    return pending;
  }

  /** A client's event on the session's connection, with Kaleyra's ack. */
  async emit(session: string, connectionId: string, name: string, data: unknown): Promise<RemoteEmitResult> {
    this.wake();
    const held = this.owned(session, connectionId);
    if (!held) return { ok: false, error: "not_connected" };
    const pending = this.upstream.emit(held.upstream, name, data);
    await this.arm();
    return pending;
  }

  async close(session: string, connectionId: string): Promise<void> {
    this.wake();
    const opening = this.opening.get(connectionId);
    if (opening?.session === session) opening.cancelled = true;
    if (this.owned(session, connectionId)) this.closeConnection(connectionId);
    await this.arm();
  }

  /** The session's rare safety check: is this connection still held here, and alive? */
  async holds(session: string, connectionId: string): Promise<boolean> {
    this.wake();
    const held = this.owned(session, connectionId);
    return held !== undefined && (await this.upstream.isAlive(held.upstream));
  }

  override async alarm(): Promise<void> {
    this.armedAt = undefined;
    this.wake();
    const now = Date.now();
    this.upstream.check();
    this.gate.expire(now);
    for (const session of this.outbox.ready(now)) this.flush(session);
    await this.arm();
  }

  /** Counts for the dev control API and the bench; never a credential. */
  stats(): ConnectorStats {
    return {
      instanceStartedAt: this.startedAt,
      held: this.held.size,
      opening: this.opening.size,
      handshakes: { active: this.gate.active, queued: this.gate.queued, peakQueued: this.gate.peakQueued },
      orphansReported: this.orphansReported,
      opens: { asked: this.counts.asked, connected: this.counts.connected, refused: this.counts.refused, full: this.counts.full },
      reports: { ...this.outbox.stats, pending: this.outbox.pending, disowned: this.counts.disowned },
      reportCalls: { ...this.calls },
    };
  }

  /** Reports, once per instance, every connection an earlier instance held: each died with it. */
  private wake(): void {
    if (this.pendingOrphans.length === 0) return;
    const orphans = this.pendingOrphans;
    this.pendingOrphans = [];
    for (const [connectionId, { session }] of orphans) {
      this.orphans.add(connectionId);
      this.orphansReported += 1;
      this.report(session, { connectionId, notice: { type: "remote_lost", byServer: false } });
    }
  }

  private owned(session: string, connectionId: string) {
    const held = this.held.get(connectionId);
    return held?.session === session ? held : undefined;
  }

  private dropOlder(session: string, connectionId: string): void {
    for (const [id, o] of this.opening) if (o.session === session && o.purpose === "session" && id !== connectionId) o.cancelled = true;
    for (const id of this.held.sessionConnections(session)) if (id !== connectionId) this.closeConnection(id);
  }

  private closeConnection(connectionId: string): void {
    const held = this.held.get(connectionId);
    this.held.remove(connectionId);
    if (held) void this.upstream.closeSession({ sessionId: held.upstream }).catch(() => {});
  }

  /** What Kaleyra says on a connection, to the session that holds it. */
  private onUpstream(upstreamId: string, notice: RemoteNotice): void {
    const connectionId = this.held.connectionOf(upstreamId);
    const held = connectionId === undefined ? undefined : this.held.get(connectionId);
    if (connectionId === undefined || !held) return; // not (or no longer) ours to tell
    // Lost and force_disconnect end the connection: nothing more comes on it.
    if (notice.type === "remote_lost" || notice.type === "user_deactivated") this.held.remove(connectionId);
    this.report(held.session, { connectionId, notice });
  }

  private report(session: string, report: ConnectorReport): void {
    const { type } = report.notice;
    const coalesce = type === "remote_token_expiring" || type === "remote_token_expired" || type === "client_deprecated" ? `${report.connectionId}\n${type}` : undefined;
    // Reports made in one turn go out as one call: the flush runs after this turn's other pushes.
    if (this.outbox.push(session, report, { droppable: type === "remote_event", ...(coalesce === undefined ? {} : { coalesce }) })) queueMicrotask(() => this.flush(session));
  }

  private flush(session: string): void {
    const batch = this.outbox.take(session, Date.now());
    if (batch) void this.deliver(session, batch);
  }

  private async deliver(session: string, batch: ConnectorReport[]): Promise<void> {
    const t0 = Date.now();
    let answer: ReportsAnswer | undefined;
    try {
      answer = await userSessionById(this.env, session).connectorReports(batch);
    } catch (err) {
      this.calls.failed += 1;
      console.warn("connector: report to a session failed", { reports: batch.length, error: String(err) });
    }
    const ms = Date.now() - t0;
    this.calls.calls += 1;
    this.calls.totalMs += ms;
    this.calls.maxMs = Math.max(this.calls.maxMs, ms);
    const outcome = answer ? "delivered" : this.outbox.failed(session, Date.now());
    if (answer) this.outbox.delivered(session);
    if (outcome !== "retry") {
      // A restart's lost reports are done with once delivered (or given up: the session's safety check remains).
      for (const { connectionId } of batch) if (this.orphans.delete(connectionId)) this.held.remove(connectionId);
    }
    for (const id of answer?.disowned ?? []) {
      if (this.held.get(id)?.session !== session) continue;
      this.counts.disowned += 1;
      this.closeConnection(id);
    }
    if (outcome === "retry") await this.arm();
    else this.flush(session);
  }

  /** Arms the one alarm for the earliest deadline; nothing armed once nothing is held or due. */
  private async arm(): Promise<void> {
    const now = Date.now();
    const dues = [this.upstream.nextDeadline(), this.gate.nextDeadline(), this.outbox.nextRetryAt()];
    for (const o of this.opening.values()) dues.push(o.startedAt + OPEN_BOUND_MS);
    if (this.held.size > 0 || this.orphans.size > 0 || this.opening.size > 0) dues.push(now + WATCHDOG_MS);
    const next = dues.filter((t): t is number => t !== undefined).reduce((a, b) => Math.min(a, b), Infinity);
    if (next === Infinity) {
      if (this.armedAt !== undefined) await this.ctx.storage.deleteAlarm();
      this.armedAt = undefined;
      return;
    }
    // Whole milliseconds, never in the past; an alarm already armed earlier stays (it re-arms when it fires).
    const at = Math.max(Math.ceil(next), now + 1);
    if (this.armedAt !== undefined && this.armedAt <= at && this.armedAt > now) return;
    this.armedAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
