/**
 * The deployment's list of apps, for the admin only: one instance, named APP_REGISTRY_NAME (stubs.ts). Each app's
 * own state (settings, secrets, slots, rooms, webhooks, tenant keys) lives in its AppState object;
 * nothing on a client's or a session's path calls this object (durable-objects/apps.ts routes those
 * calls to AppState, and a test counts that).
 * Invariant: an app is listed once its AppState was created by the admin API, and unlisted when
 * the admin API deleted it. A crash between the two writes leaves at most a listed app whose
 * AppState is gone (GET answers app_id_invalid; DELETE unlists it) or an unlisted live app (a PUT
 * lists it again).
 * Migration from v1 (where this object held every app's state): on construction, apps left in the
 * v1 tables are copied into their AppState objects (AppState.importV1) and listed, one app at a
 * time, each removed from the v1 tables once copied, so an interrupted migration resumes.
 */
import { DurableObject } from "cloudflare:workers";
import { isAppId } from "../core/app";
import type { Env } from "./bindings";
import type { V1App } from "./AppState-schema";
import { appState } from "./stubs";

export type { AppRecord } from "./AppState-schema";

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
    if (hasTable(ctx, "apps")) {
      // A failed copy is logged and retried by the next construction; the app stays in v1's tables.
      void ctx.blockConcurrencyWhile(() => migrateV1(ctx, env).catch((err) => console.error(`v1 app migration stopped: ${String(err)}`)));
    }
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

function hasTable(ctx: DurableObjectState, name: string): boolean {
  return ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
}

/** v1's tables, as v1 wrote them (every table keyed by app_id). */
type V1AppRow = V1App & { app_id: string };

async function migrateV1(ctx: DurableObjectState, env: Env): Promise<void> {
  const sql = ctx.storage.sql;
  for (const row of sql.exec<V1AppRow>("SELECT * FROM apps").toArray()) {
    const sessions = hasTable(ctx, "app_sessions")
      ? sql.exec<{ object_id: string }>("SELECT object_id FROM app_sessions WHERE app_id = ?", row.app_id).toArray().map((r) => r.object_id)
      : [];
    const rooms = hasTable(ctx, "room_sessions")
      ? sql.exec<{ room_id: string; object_id: string }>("SELECT room_id, object_id FROM room_sessions WHERE app_id = ?", row.app_id).toArray()
      : [];
    const endedRooms = hasTable(ctx, "ended_rooms")
      ? sql.exec<{ room_id: string; ended_at: number }>("SELECT room_id, ended_at FROM ended_rooms WHERE app_id = ?", row.app_id).toArray()
      : [];
    await appState(env, row.app_id).importV1(row.app_id, row, sessions, rooms, endedRooms);
    sql.exec("INSERT OR IGNORE INTO app_list (app_id, created_at) VALUES (?, ?)", row.app_id, row.created_at);
    for (const table of ["apps", "app_sessions", "room_sessions", "ended_rooms", "webhooks_seen"]) {
      if (hasTable(ctx, table)) sql.exec(`DELETE FROM ${table} WHERE app_id = ?`, row.app_id);
    }
  }
  for (const table of ["apps", "app_sessions", "room_sessions", "ended_rooms", "webhooks_seen"]) sql.exec(`DROP TABLE IF EXISTS ${table}`);
}
