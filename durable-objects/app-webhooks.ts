/**
 * What an app's AppState keeps for Kaleyra's webhooks (tables `room_sessions`, `ended_rooms`,
 * `webhooks_seen`): which session objects are in which room, so a room-ended webhook ends their
 * calls; rooms already ended (a week), so a session joining late learns it; and the verified
 * signatures already applied, so a replayed webhook changes nothing.
 */

/** An ended room's links stay invalid at Kaleyra; a week of memory covers any open in flight. */
const ENDED_ROOM_MEMORY_MS = 7 * 86_400_000;

export class AppWebhooks {
  constructor(private readonly sql: SqlStorage) {}

  /** Records that `objectId` is in the room; idempotent. False when the room already ended. */
  indexRoomSession(roomId: string, objectId: string): boolean {
    if (this.sql.exec("SELECT 1 FROM ended_rooms WHERE room_id = ?", roomId).toArray().length > 0) return false;
    this.sql.exec("INSERT OR IGNORE INTO room_sessions (room_id, object_id) VALUES (?, ?)", roomId, objectId);
    return true;
  }

  /** The session objects in the room, removed from the index; the room is remembered as ended. */
  takeRoomSessions(roomId: string, now: number): string[] {
    const rows = this.sql.exec<{ object_id: string }>("SELECT object_id FROM room_sessions WHERE room_id = ?", roomId).toArray();
    this.sql.exec("DELETE FROM room_sessions WHERE room_id = ?", roomId);
    this.sql.exec("DELETE FROM ended_rooms WHERE ended_at < ?", now - ENDED_ROOM_MEMORY_MS);
    this.sql.exec("INSERT OR IGNORE INTO ended_rooms (room_id, ended_at) VALUES (?, ?)", roomId, now);
    return rows.map((r) => r.object_id);
  }

  /** Records a verified signature; false when seen before. Older than `forgetBeforeSec` go. */
  markSeen(signature: string, signedAtSec: number, forgetBeforeSec: number): boolean {
    this.sql.exec("DELETE FROM webhooks_seen WHERE signed_at < ?", forgetBeforeSec);
    if (this.sql.exec("SELECT 1 FROM webhooks_seen WHERE signature = ?", signature).toArray().length > 0) return false;
    this.sql.exec("INSERT INTO webhooks_seen (signature, signed_at) VALUES (?, ?)", signature, signedAtSec);
    return true;
  }

  forget(signature: string): void {
    this.sql.exec("DELETE FROM webhooks_seen WHERE signature = ?", signature);
  }
}
