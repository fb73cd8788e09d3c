/**
 * The deployment's registry of apps (tenants): one instance, named REGISTRY_NAME, backed by SQLite.
 * Invariants: every stored row passed isAppId and parseAppSettings (the methods re-check, because
 * RPC arguments are not type-checked at runtime); createdAt never changes after the first write;
 * a refused write changes nothing; secrets leave this object only through getAppSecrets (for the
 * Worker's webhook check and for sessions), never in an AppRecord.
 */
import { DurableObject } from "cloudflare:workers";
import {
  isAppId,
  parseAppSettings,
  requiredSecretMissing,
  SECRET_KEYS,
  type AppSecrets,
  type AppSecretsUpdate,
  type AppSettings,
  type Environment,
  type Region,
} from "../core/app";
import { kaleyraError } from "../core/errors";
import { fail, ok, type Result } from "../core/result";
import type { Env } from "../worker/env";

export const REGISTRY_NAME = "registry";

export interface AppRecord extends AppSettings {
  appId: string;
  /** Which write-only secrets are set; never their values. */
  secrets: { [K in keyof AppSecrets]-?: boolean };
  /**
   * New at every registration (a delete then a PUT makes a new one): resume credentials are bound
   * to it, so none survives the app's removal.
   */
  epoch: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export interface AppWrite {
  record: AppRecord;
  /** True when the app did not exist before this call. */
  created: boolean;
}

type AppRow = {
  app_id: string;
  environment: string;
  region: string;
  /** JSON of the settings beyond environment and region (retry policy, server tokens, ...). */
  settings: string;
  kaleyra_api_key: string | null;
  token_webhook_secret: string | null;
  attach_ticket_secret: string | null;
  epoch: string;
  created_at: number;
  updated_at: number;
};

export class AppRegistry extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS apps (
      app_id TEXT PRIMARY KEY,
      environment TEXT NOT NULL,
      region TEXT NOT NULL,
      settings TEXT NOT NULL,
      kaleyra_api_key TEXT,
      token_webhook_secret TEXT,
      attach_ticket_secret TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      epoch TEXT NOT NULL DEFAULT ''
    )`);
    // Tables made before apps had an epoch get the column; such rows get one at their next write.
    const columns = ctx.storage.sql.exec<{ name: string }>("PRAGMA table_info(apps)").toArray();
    if (!columns.some((c) => c.name === "epoch")) ctx.storage.sql.exec("ALTER TABLE apps ADD COLUMN epoch TEXT NOT NULL DEFAULT ''");
    // Which access-link sessions are in which Kaleyra room, so a room-ended webhook reaches them.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS room_sessions (
      app_id TEXT NOT NULL,
      room_id TEXT NOT NULL,
      object_id TEXT NOT NULL,
      PRIMARY KEY (app_id, room_id, object_id)
    )`);
    // Rooms whose end was handled: a link session that indexes one later learns it ended.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS ended_rooms (
      app_id TEXT NOT NULL,
      room_id TEXT NOT NULL,
      ended_at INTEGER NOT NULL,
      PRIMARY KEY (app_id, room_id)
    )`);
    // Webhook signatures already accepted, within the signature tolerance: a replay is refused.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS webhooks_seen (
      app_id TEXT NOT NULL,
      signature TEXT NOT NULL,
      signed_at INTEGER NOT NULL,
      PRIMARY KEY (app_id, signature)
    )`);
    // The app's active sessions, for its session limit and so removing the app ends them.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS app_sessions (
      app_id TEXT NOT NULL,
      object_id TEXT NOT NULL,
      PRIMARY KEY (app_id, object_id)
    )`);
  }

  getApp(appId: string): AppRecord | null {
    const row = this.row(appId);
    return row === undefined ? null : toRecord(row);
  }

  /** The app's secrets, for the Worker's webhook check and for sessions' server-side tokens. */
  getAppSecrets(appId: string): AppSecrets | null {
    const row = this.row(appId);
    return row === undefined ? null : secretsOf(row);
  }

  /** Creates or replaces the app's settings; secrets absent from `secrets` are kept. */
  putApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}): Result<AppWrite> {
    return this.write(appId, settings, secrets, "replace");
  }

  /** Creates the app only if it is absent; an existing app is returned unchanged. */
  ensureApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}): Result<AppWrite> {
    return this.write(appId, settings, secrets, "keep");
  }

  private row(appId: string): AppRow | undefined {
    if (!isAppId(appId)) return undefined;
    return this.ctx.storage.sql.exec<AppRow>("SELECT * FROM apps WHERE app_id = ?", appId).toArray()[0];
  }

  /**
   * Records that the session object `objectId` is in the room; idempotent. False when the room
   * already ended (its webhook came first): the session must end the call itself.
   */
  indexRoomSession(appId: string, roomId: string, objectId: string): boolean {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM ended_rooms WHERE app_id = ? AND room_id = ?", appId, roomId).toArray().length > 0) return false;
    sql.exec("INSERT OR IGNORE INTO room_sessions (app_id, room_id, object_id) VALUES (?, ?, ?)", appId, roomId, objectId);
    return true;
  }

  /** The session objects in the room, removed from the index; the room is remembered as ended. */
  takeRoomSessions(appId: string, roomId: string): string[] {
    const sql = this.ctx.storage.sql;
    const rows = sql.exec<{ object_id: string }>("SELECT object_id FROM room_sessions WHERE app_id = ? AND room_id = ?", appId, roomId).toArray();
    sql.exec("DELETE FROM room_sessions WHERE app_id = ? AND room_id = ?", appId, roomId);
    const now = Date.now();
    // An ended room's links stay invalid at Kaleyra; a week of memory covers any open in flight.
    sql.exec("DELETE FROM ended_rooms WHERE ended_at < ?", now - 7 * 86_400_000);
    sql.exec("INSERT OR IGNORE INTO ended_rooms (app_id, room_id, ended_at) VALUES (?, ?, ?)", appId, roomId, now);
    return rows.map((r) => r.object_id);
  }

  /**
   * Records a verified webhook signature; false when it was seen before (a replay). Signatures
   * older than `forgetBeforeSec` are dropped: the signature check refuses them as stale anyway.
   */
  markWebhookSeen(appId: string, signature: string, signedAtSec: number, forgetBeforeSec: number): boolean {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM webhooks_seen WHERE signed_at < ?", forgetBeforeSec);
    if (sql.exec("SELECT 1 FROM webhooks_seen WHERE app_id = ? AND signature = ?", appId, signature).toArray().length > 0) return false;
    sql.exec("INSERT INTO webhooks_seen (app_id, signature, signed_at) VALUES (?, ?, ?)", appId, signature, signedAtSec);
    return true;
  }

  /** Forgets a signature whose handling failed, so the sender's retry is applied. */
  forgetWebhook(appId: string, signature: string): void {
    this.ctx.storage.sql.exec("DELETE FROM webhooks_seen WHERE app_id = ? AND signature = ?", appId, signature);
  }

  /** Takes a session slot of the app; false when the app already has `max` active sessions. */
  claimSession(appId: string, objectId: string, max: number): boolean {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM app_sessions WHERE app_id = ? AND object_id = ?", appId, objectId).toArray().length > 0) return true;
    const count = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM app_sessions WHERE app_id = ?", appId).one().n;
    if (count >= max) return false;
    sql.exec("INSERT INTO app_sessions (app_id, object_id) VALUES (?, ?)", appId, objectId);
    return true;
  }

  releaseSession(appId: string, objectId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM app_sessions WHERE app_id = ? AND object_id = ?", appId, objectId);
  }

  /** The app's active session objects, removed from the index (the app is being removed). */
  takeAppSessions(appId: string): string[] {
    const sql = this.ctx.storage.sql;
    const rows = sql.exec<{ object_id: string }>("SELECT object_id FROM app_sessions WHERE app_id = ?", appId).toArray();
    sql.exec("DELETE FROM app_sessions WHERE app_id = ?", appId);
    sql.exec("DELETE FROM room_sessions WHERE app_id = ?", appId);
    sql.exec("DELETE FROM ended_rooms WHERE app_id = ?", appId);
    return rows.map((r) => r.object_id);
  }

  /** True when the app existed. */
  deleteApp(appId: string): boolean {
    if (!isAppId(appId)) return false;
    return this.ctx.storage.sql.exec("DELETE FROM apps WHERE app_id = ?", appId).rowsWritten > 0;
  }

  // Synchronous from read to write, so no other call interleaves and `created` is exact.
  private write(appId: string, input: AppSettings, update: AppSecretsUpdate, existing: "replace" | "keep"): Result<AppWrite> {
    if (!isAppId(appId)) return fail(kaleyraError("bad_request", "appId"));
    const parsed = parseAppSettings(input, { allowLocalWebhooks: this.env.ALLOW_LOCAL_WEBHOOKS === "1" });
    if (!parsed.ok) return parsed;
    const settings = parsed.value;
    const beforeRow = this.row(appId);
    if (beforeRow !== undefined && existing === "keep") return ok({ record: toRecord(beforeRow), created: false });
    const secrets = beforeRow === undefined ? {} : secretsOf(beforeRow);
    for (const key of SECRET_KEYS) {
      const value = update[key];
      if (value === null) delete secrets[key];
      else if (typeof value === "string") secrets[key] = value;
      else if (value !== undefined) return fail(kaleyraError("bad_request", key));
    }
    const missing = requiredSecretMissing(settings, secrets);
    if (missing !== undefined) return fail(kaleyraError("bad_request", missing));
    const now = Date.now();
    const createdAt = beforeRow?.created_at ?? now;
    const epoch = beforeRow?.epoch || crypto.randomUUID();
    const { environment, region, ...rest } = settings;
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO apps (app_id, environment, region, settings, kaleyra_api_key, token_webhook_secret,
        attach_ticket_secret, created_at, updated_at, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      appId,
      environment,
      region,
      JSON.stringify(rest),
      secrets.kaleyraApiKey ?? null,
      secrets.tokenWebhookSecret ?? null,
      secrets.attachTicketSecret ?? null,
      createdAt,
      now,
      epoch,
    );
    return ok({ record: toRecord(this.row(appId)!), created: beforeRow === undefined });
  }
}

function secretsOf(row: AppRow): AppSecrets {
  const secrets: AppSecrets = {};
  if (row.kaleyra_api_key !== null) secrets.kaleyraApiKey = row.kaleyra_api_key;
  if (row.token_webhook_secret !== null) secrets.tokenWebhookSecret = row.token_webhook_secret;
  if (row.attach_ticket_secret !== null) secrets.attachTicketSecret = row.attach_ticket_secret;
  return secrets;
}

function toRecord(row: AppRow): AppRecord {
  // Only values that passed parseAppSettings are ever written (see write()).
  const settings: AppSettings = {
    ...(JSON.parse(row.settings) as Omit<AppSettings, "environment" | "region">),
    environment: row.environment as Environment,
    region: row.region as Region,
  };
  const secrets = {
    kaleyraApiKey: row.kaleyra_api_key !== null,
    tokenWebhookSecret: row.token_webhook_secret !== null,
    attachTicketSecret: row.attach_ticket_secret !== null,
  };
  return { appId: row.app_id, ...settings, secrets, epoch: row.epoch, createdAt: row.created_at, updatedAt: row.updated_at };
}
