/**
 * An app's wake state inside its AppState (issue 21, docs/push.md): the wake secrets (the VAPID
 * pair and the wake webhook's secret, table `app_wake`) and the rooms the tenant said call which
 * users (`wake_rooms`), which is how Kaleyra's v0 `on_call_incoming`, naming only a room, finds
 * the users to wake.
 * Invariants:
 * - Every app has a VAPID pair once written: drawn at its registration (or at its first write
 *   after this version, or when a client first asks for the key), replaced only by the operator
 *   (their own pair, checked to match, or null: a new one drawn, a rotation).
 * - A room's users are kept ROOM_USER_LIMITS.ttlMs after the tenant's last word about the room, at
 *   most maxUsers per room and maxRooms rooms per app (the oldest go first).
 */
import { invalidInput } from "../core/errors";
import { fail, ok, type Result } from "../core/result";
import type { AppSecrets, AppSecretsUpdate } from "../core/app";
import { ROOM_USER_LIMITS } from "../core/wake-tenant";
import { checkVapidKeys, generateVapidKeys } from "../crypto/vapid";

/**
 * The secrets update a write applies: an operator's pair checked (the private key must sign for the
 * public one), and a new pair drawn when the update asks for one (null) or the app has none.
 */
export async function withVapidKeys(update: AppSecretsUpdate, stored: AppSecrets | undefined): Promise<Result<AppSecretsUpdate>> {
  if (update.vapidKeys !== undefined && update.vapidKeys !== null) {
    if (await checkVapidKeys(update.vapidKeys)) return ok(update);
    return fail(invalidInput("bad_request", [{ field: "vapidKeys", reason: "must be a matching P-256 pair: privateKey is not the private half of publicKey" }]));
  }
  if (update.vapidKeys === null || stored?.vapidKeys === undefined) return ok({ ...update, vapidKeys: await generateVapidKeys() });
  return ok(update);
}

export class AppWake {
  constructor(private readonly sql: SqlStorage) {}

  /** Stores the wake secrets of a write (the app's other secrets are the `app` row's). */
  writeSecrets(secrets: AppSecrets): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO app_wake (id, wake_webhook_secret, vapid_public_key, vapid_private_key) VALUES (1, ?, ?, ?)",
      secrets.wakeWebhookSecret ?? null,
      secrets.vapidKeys?.publicKey ?? null,
      secrets.vapidKeys?.privateKey ?? null,
    );
  }

  /** The app's VAPID public key; an app written before wakes existed gets its pair now (the first stored stays). */
  async vapidPublicKey(secrets: () => AppSecrets | null): Promise<string | null> {
    const before = secrets();
    if (before === null || before.vapidKeys !== undefined) return before?.vapidKeys?.publicKey ?? null;
    const drawn = await generateVapidKeys();
    const now = secrets();
    if (now !== null && now.vapidKeys === undefined) this.writeSecrets({ ...now, vapidKeys: drawn });
    return secrets()?.vapidKeys?.publicKey ?? null;
  }

  /** Records (replaces) the users a room calls, until `expiresAt`; expired rooms and the oldest beyond the bound go. */
  setRoomUsers(roomId: string, userIds: readonly string[], now: number): void {
    this.sql.exec("DELETE FROM wake_rooms WHERE room_id = ? OR expires_at <= ?", roomId, now);
    for (const userId of userIds.slice(0, ROOM_USER_LIMITS.maxUsers)) {
      this.sql.exec("INSERT OR IGNORE INTO wake_rooms (room_id, user_id, expires_at) VALUES (?, ?, ?)", roomId, userId, now + ROOM_USER_LIMITS.ttlMs);
    }
    const rooms = this.sql.exec<{ n: number }>("SELECT COUNT(DISTINCT room_id) AS n FROM wake_rooms").one().n;
    if (rooms > ROOM_USER_LIMITS.maxRooms) {
      this.sql.exec(
        "DELETE FROM wake_rooms WHERE room_id IN (SELECT room_id FROM wake_rooms GROUP BY room_id ORDER BY MIN(expires_at) LIMIT ?)",
        rooms - ROOM_USER_LIMITS.maxRooms,
      );
    }
  }

  /** The users the room calls, as the tenant last said (none once expired). */
  roomUsers(roomId: string, now: number): string[] {
    return this.sql
      .exec<{ user_id: string }>("SELECT user_id FROM wake_rooms WHERE room_id = ? AND expires_at > ? ORDER BY user_id", roomId, now)
      .toArray()
      .map((r) => r.user_id);
  }
}
