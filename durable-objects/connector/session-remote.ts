/**
 * The session's side of the connectors: the remote port (core/port.ts) answered by RPC to the
 * connector that holds the user's connection, so the session object itself holds no socket and
 * hibernates between events (docs/architecture.md "Sessions and connectors").
 * Invariants:
 * - A connection's id names its connector (core/connector.ts): every later call about it goes to
 *   that connector, whatever the pool's settings are by then.
 * - The open picks the connector by a stable hash of (appId, user or link digest), and goes on to
 *   the pool's overflow shards only while a connector answers `full`.
 * - A report about a connection whose open has not answered yet is held until the session took
 *   that answer (`settled`), so nothing Kaleyra says right after connecting is lost or reordered.
 * - Never throws: a failed RPC is "unavailable" (open, update), "not_connected" (emit), or "not
 *   held" (the safety check).
 */
import { accessLinkDigest } from "../../core/access-link";
import type { Region } from "../../core/app";
import { connectionId, connectorConfig, connectorName, connectorOfConnection, LOCATION_HINTS, shardKey, shardOrder, stableHash, type ConnectorConfig, type PoolKey } from "../../core/connector";
import type {
  CloseSessionRequest,
  ConnectorReport,
  MintAccessTokenRequest,
  MintAccessTokenResult,
  OpenSessionRequest,
  OpenSessionResult,
  Remote,
  RemoteEmitResult,
  RemoteListener,
  RemoteNotice,
  ReportsAnswer,
  UpdateTokenResult,
} from "../../core/port";
import type { Env } from "../bindings";
import { kaleyraConnector } from "../stubs";

/** At most this many early reports are held per opening connection (an open answers within seconds). */
const MAX_EARLY = 256;

export interface ConnectorRemoteOptions {
  /** The connector of that name (core/connector.ts), placed near `region` when the composition asks. */
  connector(name: string, region?: Region): ReturnType<typeof kaleyraConnector>;
  /** This session object's id: where the connectors report. */
  session: string;
  config: ConnectorConfig;
  /** REST (server-side tokens) and reading a token's user: the composition's adapter, unchanged. */
  rest: Remote;
}

export class ConnectorRemote implements Remote {
  private listener: RemoteListener | undefined;
  /** Connections whose open has not been taken by the session yet, with the reports held for them. */
  private readonly early = new Map<string, RemoteNotice[]>();

  constructor(private readonly options: ConnectorRemoteOptions) {}

  async openSession(request: OpenSessionRequest): Promise<OpenSessionResult> {
    const pool: PoolKey = { environment: request.environment, region: request.region, ...(request.ownPool === true ? { app: request.appId } : {}) };
    const purpose = request.check === true ? "check" : "session";
    const user = request.credential.kind === "token" ? { userId: request.credential.userId } : { linkDigest: (await accessLinkDigest(request.credential.accessLink)) ?? request.credential.accessLink };
    for (const shard of shardOrder(stableHash(shardKey(request.appId, user)), this.options.config)) {
      const name = connectorName(pool, shard);
      const id = connectionId(name, crypto.randomUUID());
      this.early.set(id, []);
      let result;
      try {
        result = await this.options.connector(name, request.region).open({ session: this.options.session, connectionId: id, request, purpose });
      } catch (err) {
        console.warn("connector: open failed", { connector: name, error: String(err) });
        result = { ok: false as const, error: "unavailable" as const };
      }
      if (result.ok) return result;
      this.early.delete(id);
      if (!("full" in result)) return result;
    }
    console.warn("connector: every shard of the pool is full; raise CONNECTOR_MAX_SHARDS", { pool: connectorName(pool, 0) });
    return { ok: false, error: "unavailable" };
  }

  /** The session took the open's answer: the reports that came before it are delivered now, in order. */
  settled(sessionId: string): void {
    const held = this.early.get(sessionId);
    this.early.delete(sessionId);
    for (const notice of held ?? []) this.listener?.(sessionId, notice);
  }

  async closeSession(request: CloseSessionRequest): Promise<void> {
    const id = request.sessionId;
    const name = id === undefined ? undefined : connectorOfConnection(id);
    if (id === undefined || name === undefined) return;
    this.early.delete(id);
    await this.options.connector(name).close(this.options.session, id).catch((err: unknown) => console.warn("connector: close failed", { connector: name, error: String(err) }));
  }

  async updateToken(sessionId: string, token: string): Promise<UpdateTokenResult> {
    const name = connectorOfConnection(sessionId);
    if (name === undefined) return { ok: false, error: "unavailable" };
    return this.options.connector(name).updateToken(this.options.session, sessionId, token).catch(() => ({ ok: false as const, error: "unavailable" as const }));
  }

  async emit(sessionId: string, name: string, data: unknown): Promise<RemoteEmitResult> {
    const connector = connectorOfConnection(sessionId);
    if (connector === undefined) return { ok: false, error: "not_connected" };
    return this.options.connector(connector).emit(this.options.session, sessionId, name, data).catch(() => ({ ok: false as const, error: "not_connected" as const }));
  }

  /** The rare safety check (core/refresh.ts): a connector that cannot be reached holds nothing for us. */
  async isAlive(sessionId: string): Promise<boolean> {
    const name = connectorOfConnection(sessionId);
    if (name === undefined) return false;
    return this.options.connector(name).holds(this.options.session, sessionId).catch(() => false);
  }

  listen(listener: RemoteListener): void {
    this.listener = listener;
  }

  /** The connector runs the connections' deadlines; the session has none of its own. */
  check(): void {}

  nextDeadline(): number | undefined {
    return undefined;
  }

  tokenUserId(token: string): string | undefined {
    return this.options.rest.tokenUserId(token);
  }

  mintAccessToken(request: MintAccessTokenRequest): Promise<MintAccessTokenResult> {
    return this.options.rest.mintAccessToken(request);
  }

  /**
   * Sorts a batch of reports: held for a connection whose open has not been taken yet, delivered
   * (in order, each awaited) for the current connection, and the rest disowned.
   */
  async receive(batch: readonly ConnectorReport[], current: () => string | undefined, deliver: (connectionId: string, notice: RemoteNotice) => Promise<void>): Promise<ReportsAnswer> {
    const disowned = new Set<string>();
    for (const { connectionId: id, notice } of batch) {
      const early = this.early.get(id);
      if (early) {
        if (early.length < MAX_EARLY) early.push(notice);
      } else if (id === current()) await deliver(id, notice);
      else disowned.add(id);
    }
    return { disowned: [...disowned] };
  }
}

/**
 * A session's remote over the connectors, for a composition root to give UserSession: `rest` is its
 * adapter (server-side tokens, a token's user), the connectors hold the connections. With
 * `locationHints` (deployed) each pool's connectors are placed near Kaleyra's region.
 */
export function connectorRemote(ctx: DurableObjectState, env: Env, rest: Remote, options: { locationHints: boolean }): ConnectorRemote {
  return new ConnectorRemote({
    connector: (name, region) => kaleyraConnector(env, name, options.locationHints && region !== undefined ? LOCATION_HINTS[region] : undefined),
    session: ctx.id.toString(),
    config: connectorConfig(env).config,
    rest,
  });
}
