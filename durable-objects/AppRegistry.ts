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
  type ServerTokenSettings,
} from "../core/app";
import { kaleyraError } from "../core/errors";
import type { RetryPolicy } from "../core/policy";
import { fail, ok, type Result } from "../core/result";
import type { Env } from "../worker/env";

export const REGISTRY_NAME = "registry";

export interface AppRecord extends AppSettings {
  appId: string;
  /** Which write-only secrets are set; never their values. */
  secrets: { [K in keyof AppSecrets]-?: boolean };
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
  retry_policy: string | null;
  server_tokens: string | null;
  kaleyra_api_key: string | null;
  token_webhook_secret: string | null;
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
      retry_policy TEXT,
      server_tokens TEXT,
      kaleyra_api_key TEXT,
      token_webhook_secret TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
    // Which access-link sessions are in which Kaleyra room, so a room-ended webhook reaches them.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS room_sessions (
      app_id TEXT NOT NULL,
      room_id TEXT NOT NULL,
      object_id TEXT NOT NULL,
      PRIMARY KEY (app_id, room_id, object_id)
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

  /** Records that the session object `objectId` is in the room; idempotent. */
  indexRoomSession(appId: string, roomId: string, objectId: string): void {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO room_sessions (app_id, room_id, object_id) VALUES (?, ?, ?)", appId, roomId, objectId);
  }

  /** The session objects in the room, removed from the index (the room has ended). */
  takeRoomSessions(appId: string, roomId: string): string[] {
    const rows = this.ctx.storage.sql
      .exec<{ object_id: string }>("SELECT object_id FROM room_sessions WHERE app_id = ? AND room_id = ?", appId, roomId)
      .toArray();
    this.ctx.storage.sql.exec("DELETE FROM room_sessions WHERE app_id = ? AND room_id = ?", appId, roomId);
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
    const parsed = parseAppSettings(input);
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
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO apps (app_id, environment, region, retry_policy, server_tokens, kaleyra_api_key,
        token_webhook_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      appId,
      settings.environment,
      settings.region,
      settings.retryPolicy === undefined ? null : JSON.stringify(settings.retryPolicy),
      settings.serverTokens === undefined ? null : JSON.stringify(settings.serverTokens),
      secrets.kaleyraApiKey ?? null,
      secrets.tokenWebhookSecret ?? null,
      createdAt,
      now,
    );
    return ok({ record: toRecord(this.row(appId)!), created: beforeRow === undefined });
  }
}

function secretsOf(row: AppRow): AppSecrets {
  const secrets: AppSecrets = {};
  if (row.kaleyra_api_key !== null) secrets.kaleyraApiKey = row.kaleyra_api_key;
  if (row.token_webhook_secret !== null) secrets.tokenWebhookSecret = row.token_webhook_secret;
  return secrets;
}

function toRecord(row: AppRow): AppRecord {
  // Only values that passed parseAppSettings are ever written (see write()).
  const settings: AppSettings = { environment: row.environment as Environment, region: row.region as Region };
  if (row.retry_policy !== null) settings.retryPolicy = JSON.parse(row.retry_policy) as RetryPolicy;
  if (row.server_tokens !== null) settings.serverTokens = JSON.parse(row.server_tokens) as ServerTokenSettings;
  const secrets = { kaleyraApiKey: row.kaleyra_api_key !== null, tokenWebhookSecret: row.token_webhook_secret !== null };
  return { appId: row.app_id, ...settings, secrets, createdAt: row.created_at, updatedAt: row.updated_at };
}
