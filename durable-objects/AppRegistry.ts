/**
 * The deployment's list of apps, for the admin only: one instance, named REGISTRY_NAME. Each app's
 * own state (settings, secrets, slots, rooms, webhooks, tenant keys) lives in its AppState object;
 * nothing on a client's or a session's path calls this object (worker/registry.ts routes those
 * calls to AppState, and a test counts that).
 * Invariant: an app is listed once its AppState was created by the admin API, and unlisted when
 * the admin API deleted it. A crash between the two writes leaves at most a listed app whose
 * AppState is gone (GET answers app_id_invalid; DELETE unlists it) or an unlisted live app (a PUT
 * lists it again).
 */
import { DurableObject } from "cloudflare:workers";
import { isAppId } from "../core/app";
import type { Env } from "../worker/env";

export type { AppRecord, AppWrite } from "./AppState-schema";

export const REGISTRY_NAME = "registry";
export const MAX_APPS_PAGE = 100;

export interface AppList {
  apps: { appId: string; createdAt: number }[];
  /** Present when more apps follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export class AppRegistry extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS app_list (app_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
  }

  /** Lists the app; idempotent (a listed app keeps its first createdAt). */
  listApp(appId: string, createdAt: number): void {
    if (!isAppId(appId)) return;
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO app_list (app_id, created_at) VALUES (?, ?)", appId, createdAt);
  }

  unlistApp(appId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM app_list WHERE app_id = ?", appId);
  }

  /** Apps in appId order, `limit` (1..MAX_APPS_PAGE) at a time after `cursor`. */
  listApps(cursor: string | undefined, limit: number): AppList {
    const n = Math.min(Math.max(1, Math.floor(limit)), MAX_APPS_PAGE);
    const rows = this.ctx.storage.sql
      .exec<{ app_id: string; created_at: number }>("SELECT app_id, created_at FROM app_list WHERE app_id > ? ORDER BY app_id LIMIT ?", cursor ?? "", n + 1)
      .toArray();
    const apps = rows.slice(0, n).map((r) => ({ appId: r.app_id, createdAt: r.created_at }));
    return rows.length > n ? { apps, nextCursor: apps[n - 1]!.appId } : { apps };
  }
}
