/**
 * An app's index of its session objects, in its AppState's SQLite: the slots of its active
 * sessions (the app's session limit, the tenant API's list, the app's removal) and the objects
 * that proved a socket of the app (so removing the app reaches idle sessions too). SQL glue; the
 * AppState checks that the app exists before it calls in.
 * Invariants:
 * - A slot is updated only while it exists, never with an older status report.
 * - The proven objects are bounded: past MAX_PROVEN_OBJECTS (trimmed every 128 new ones), the
 *   least recently reported go.
 *   One the removal does not reach still holds nothing of the next registration: its sockets'
 *   epoch is checked at every proof and slot (docs/security.md "App lifecycle").
 */
import type { ActiveStatus, SessionPage, SessionSummary } from "./AppState-schema";

export const MAX_SESSIONS_PAGE = 100;
const MAX_PROVEN_OBJECTS = 10_000;
/** New proven objects between two trims: the table holds at most MAX_PROVEN_OBJECTS + PRUNE_EVERY. */
const PRUNE_EVERY = 128;

export class AppSessions {
  constructor(
    private readonly sql: SqlStorage,
    private readonly maxProven = MAX_PROVEN_OBJECTS,
    private readonly pruneEvery = PRUNE_EVERY,
  ) {}

  /** Takes a slot; false when the app already has `max` active sessions. */
  claim(objectId: string, max: number): boolean {
    if (this.sql.exec("SELECT 1 FROM sessions WHERE object_id = ?", objectId).toArray().length > 0) return true;
    if (this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sessions").one().n >= max) return false;
    this.sql.exec("INSERT INTO sessions (object_id, status, updated_at) VALUES (?, 'connecting', ?)", objectId, Date.now());
    return true;
  }

  release(objectId: string): void {
    this.sql.exec("DELETE FROM sessions WHERE object_id = ?", objectId);
  }

  status(objectId: string, status: ActiveStatus, who: { kind: "token" | "access_link"; userId?: string }, at: number): void {
    this.sql.exec(
      "UPDATE sessions SET status = ?, kind = ?, user_id = ?, updated_at = ? WHERE object_id = ? AND updated_at <= ?",
      status,
      who.kind,
      who.kind === "token" ? (who.userId ?? null) : null,
      at,
      objectId,
      at,
    );
  }

  /** The active sessions in object-id order, `pageSize` at a time after `cursor`. */
  list(status: ActiveStatus | undefined, cursor: string | undefined, pageSize: number): SessionPage {
    const limit = Math.min(Math.max(1, Math.floor(pageSize) || 1), MAX_SESSIONS_PAGE);
    const rows = this.sql
      .exec<{ object_id: string; status: ActiveStatus; kind: string | null; user_id: string | null; updated_at: number }>(
        `SELECT object_id, status, kind, user_id, updated_at FROM sessions
          WHERE object_id > ? AND (? IS NULL OR status = ?) ORDER BY object_id LIMIT ?`,
        cursor ?? "",
        status ?? null,
        status ?? null,
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit).map((r) => {
      const summary: SessionSummary = { status: r.status, updatedAt: r.updated_at };
      if (r.kind === "token" || r.kind === "access_link") summary.kind = r.kind;
      if (r.user_id !== null) summary.userId = r.user_id;
      return summary;
    });
    return rows.length > limit ? { sessions: page, nextCursor: rows[limit - 1]!.object_id } : { sessions: page };
  }

  /** The active session objects, removed from the index with the room index. */
  takeActive(): string[] {
    const rows = this.sql.exec<{ object_id: string }>("SELECT object_id FROM sessions").toArray();
    this.sql.exec("DELETE FROM sessions");
    this.sql.exec("DELETE FROM room_sessions");
    this.sql.exec("DELETE FROM ended_rooms");
    return rows.map((r) => r.object_id);
  }

  /** The object proved a socket of the app now: remembered (the oldest reports go past the bound). */
  proven(objectId: string, at: number): void {
    if (this.sql.exec("UPDATE proven_objects SET seen_at = ? WHERE object_id = ?", at, objectId).rowsWritten > 0) return;
    const { rowid } = this.sql.exec<{ rowid: number }>("INSERT INTO proven_objects (object_id, seen_at) VALUES (?, ?) RETURNING rowid", objectId, at).one();
    // Trimmed once every `pruneEvery` new objects, not at each one: the trim reads the whole bound.
    if (rowid % this.pruneEvery !== 0) return;
    this.sql.exec(
      "DELETE FROM proven_objects WHERE object_id IN (SELECT object_id FROM proven_objects ORDER BY seen_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
      this.maxProven,
    );
  }

  /** Every object the app's removal must reach: the active sessions and the proven objects. */
  everyObject(): string[] {
    return this.sql
      .exec<{ object_id: string }>("SELECT object_id FROM sessions UNION SELECT object_id FROM proven_objects")
      .toArray()
      .map((r) => r.object_id);
  }
}
