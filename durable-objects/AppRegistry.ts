/**
 * The deployment's registry of apps (tenants): one instance, named REGISTRY_NAME, backed by SQLite.
 * Invariants: every stored row passed isAppId and parseAppSettings (the methods re-check, because
 * RPC arguments are not type-checked at runtime); createdAt never changes after the first write;
 * a refused write changes nothing.
 */
import { DurableObject } from "cloudflare:workers";
import { isAppId, parseAppSettings, type AppSettings, type Environment, type Region } from "../core/app";
import { kaleyraError } from "../core/errors";
import type { RetryPolicy } from "../core/policy";
import { fail, ok, type Result } from "../core/result";
import type { Env } from "../worker/env";

export const REGISTRY_NAME = "registry";

export interface AppRecord extends AppSettings {
  appId: string;
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
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
  }

  getApp(appId: string): AppRecord | null {
    if (!isAppId(appId)) return null;
    const row = this.ctx.storage.sql.exec<AppRow>("SELECT * FROM apps WHERE app_id = ?", appId).toArray()[0];
    return row === undefined ? null : toRecord(row);
  }

  /** Creates or replaces the app's settings. */
  putApp(appId: string, settings: AppSettings): Result<AppWrite> {
    return this.write(appId, settings, "replace");
  }

  /** Creates the app only if it is absent; an existing app is returned unchanged. */
  ensureApp(appId: string, settings: AppSettings): Result<AppWrite> {
    return this.write(appId, settings, "keep");
  }

  /** True when the app existed. */
  deleteApp(appId: string): boolean {
    if (!isAppId(appId)) return false;
    return this.ctx.storage.sql.exec("DELETE FROM apps WHERE app_id = ?", appId).rowsWritten > 0;
  }

  // Synchronous from read to write, so no other call interleaves and `created` is exact.
  private write(appId: string, input: AppSettings, existing: "replace" | "keep"): Result<AppWrite> {
    if (!isAppId(appId)) return fail(kaleyraError("bad_request", "appId"));
    const parsed = parseAppSettings(input);
    if (!parsed.ok) return parsed;
    const settings = parsed.value;
    const before = this.getApp(appId);
    if (before !== null && existing === "keep") return ok({ record: before, created: false });
    const now = Date.now();
    const policy = settings.retryPolicy === undefined ? null : JSON.stringify(settings.retryPolicy);
    if (before === null) {
      this.ctx.storage.sql.exec(
        "INSERT INTO apps (app_id, environment, region, retry_policy, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        appId, settings.environment, settings.region, policy, now, now,
      );
    } else {
      this.ctx.storage.sql.exec(
        "UPDATE apps SET environment = ?, region = ?, retry_policy = ?, updated_at = ? WHERE app_id = ?",
        settings.environment, settings.region, policy, now, appId,
      );
    }
    const createdAt = before?.createdAt ?? now;
    return ok({ record: { appId, ...settings, createdAt, updatedAt: now }, created: before === null });
  }
}

function toRecord(row: AppRow): AppRecord {
  // Only values that passed parseAppSettings are ever written (see write()).
  const settings: AppSettings = { environment: row.environment as Environment, region: row.region as Region };
  if (row.retry_policy !== null) settings.retryPolicy = JSON.parse(row.retry_policy) as RetryPolicy;
  return { appId: row.app_id, ...settings, createdAt: row.created_at, updatedAt: row.updated_at };
}
