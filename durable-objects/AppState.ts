/**
 * One app's (tenant's) state, one object per appId (named by the appId, see durable-objects/stubs.ts):
 * its settings and write-only secrets, its session slots (with each session's last reported
 * status, for the tenant API), the room index for room-ended webhooks, the webhook deliveries
 * already seen, and the hashes of its tenant API keys.
 * Invariants:
 * - Tables exist only once the app was written: a lookup of an unknown appId (a stranger probing
 *   ids) leaves no storage behind, and every method answers as for an absent app.
 * - Every stored app passed isAppId and parseAppSettings (re-checked here: RPC arguments are not
 *   type-checked at runtime); createdAt never changes; a refused write changes nothing.
 * - Secrets leave only through getAppSecrets (to the Worker's webhook check and to sessions) and
 *   are used in place for mintTicket; tenant keys are stored as SHA-256 hashes only.
 * - deleteApp deletes everything, so a re-created app starts with no keys, slots or rooms.
 * - Every written app has a VAPID pair (app-wake.ts), its private key a secret like the others.
 */
import { DurableObject } from "cloudflare:workers";
import { isAppId, parseAppSettings, requiredSecretMissing, SECRET_NEEDED_BY, type AppSecrets, type AppSecretsUpdate, type AppSettings } from "../core/app";
import { invalidInput, kaleyraError } from "../core/errors";
import { fail, ok, type Result } from "../core/result";
import { MAX_TICKET_LIFETIME_SEC } from "../core/ticket";
import { signHs256 } from "../crypto/jwt";
import type { Env } from "./bindings";
import { AppSessions } from "./app-sessions";
import { AppTenantKeys } from "./app-tenant-keys";
import { AppWebhooks } from "./app-webhooks";
import { AppWake, withVapidKeys } from "./app-wake";
import { APP_ROW_QUERY, mergeSecrets, SCHEMA, secretsOf, toRecord, type ActiveStatus, type AppRecord, type AppRow, type AppWrite, type SessionPage, type TenantKeyInfo, type V1App } from "./AppState-schema";

export { MAX_SESSIONS_PAGE } from "./app-sessions";

export class AppState extends DurableObject<Env> {
  private ready: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ready = ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'app'").toArray().length > 0;
    // An app written by an older version lacks the tables added since (all IF NOT EXISTS).
    if (this.ready) for (const statement of SCHEMA) ctx.storage.sql.exec(statement);
  }

  getApp(): AppRecord | null {
    const row = this.row();
    return row === undefined ? null : toRecord(row);
  }

  getAppSecrets(): AppSecrets | null {
    const row = this.row();
    return row === undefined ? null : secretsOf(row);
  }

  /** Creates or replaces the app's settings; secrets absent from `secrets` are kept. */
  async putApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}): Promise<Result<AppWrite>> {
    const update = await withVapidKeys(secrets, this.getAppSecrets() ?? undefined);
    return update.ok ? this.write(appId, settings, update.value, "replace") : update;
  }

  /** Creates the app only if it is absent; an existing app is returned unchanged. */
  async ensureApp(appId: string, settings: AppSettings, secrets: AppSecretsUpdate = {}): Promise<Result<AppWrite>> {
    const update = this.row() === undefined ? await withVapidKeys(secrets, undefined) : ok(secrets);
    return update.ok ? this.write(appId, settings, update.value, "keep") : update;
  }

  /** The VAPID public key pages subscribe with (null: no app); app-wake.ts draws a missing pair. */
  vapidPublicKey(): Promise<string | null> {
    return this.wake().vapidPublicKey(() => this.getAppSecrets());
  }

  /** The users a room calls, as the tenant said (tenant API): v0 on_call_incoming wakes them. False: no app. */
  setRoomUsers(roomId: string, userIds: string[]): boolean {
    if (this.row() === undefined) return false;
    this.wake().setRoomUsers(roomId, userIds, Date.now());
    return true;
  }

  roomUsers(roomId: string): string[] {
    return this.ready ? this.wake().roomUsers(roomId, Date.now()) : [];
  }

  private wake(): AppWake {
    return new AppWake(this.ctx.storage.sql);
  }

  /** True when the app existed. Everything of the app goes: settings, secrets, keys, indexes. */
  async deleteApp(): Promise<boolean> {
    if (this.row() === undefined) return false;
    this.ready = false;
    await this.ctx.storage.deleteAll();
    return true;
  }

  // --- session objects (durable-objects/app-sessions.ts) --------------------------------------

  /**
   * Takes a session slot; false when the app is absent, `epoch` is not its registration's (a
   * socket of a removed registration starts nothing), or it already has `max` active sessions.
   */
  claimSession(objectId: string, max: number, epoch?: string): boolean {
    const row = this.row();
    if (row === undefined || (epoch !== undefined && epoch !== row.epoch)) return false;
    return this.sessions().claim(objectId, max);
  }

  releaseSession(objectId: string): void {
    if (this.ready) this.sessions().release(objectId);
  }

  /**
   * A session's status changed. Only updates a slot that exists (a late report after the release
   * must not bring it back), and never with an older report than the one stored.
   */
  sessionStatus(objectId: string, status: ActiveStatus, who: { kind: "token" | "access_link"; userId?: string }, at: number): void {
    if (this.ready) this.sessions().status(objectId, status, who, at);
  }

  /** The app's active sessions in object-id order, `limit` at a time after `cursor`. */
  listSessions(status: ActiveStatus | undefined, cursor: string | undefined, pageSize: number): SessionPage {
    return this.ready ? this.sessions().list(status, cursor, pageSize) : { sessions: [] };
  }

  /** The app's active session objects, removed from the index. */
  takeAppSessions(): string[] {
    return this.ready ? this.sessions().takeActive() : [];
  }

  /**
   * A session object proved a socket routed with `epoch`: the registration's current epoch is
   * answered (null: no app), and the object is remembered when the epoch is current, so removing
   * the app reaches it even while it holds no slot.
   */
  sessionProven(objectId: string, epoch: string): string | null {
    const row = this.row();
    if (row === undefined) return null;
    if (epoch === row.epoch) this.sessions().proven(objectId, Date.now());
    return row.epoch;
  }

  /**
   * Removes the app in one step: every session object it must end (active or proven, see
   * app-sessions.ts), then everything of the app. Null when there was no app.
   */
  async removeApp(): Promise<string[] | null> {
    if (this.row() === undefined) return null;
    const objects = this.sessions().everyObject();
    this.ready = false;
    await this.ctx.storage.deleteAll();
    return objects;
  }

  private sessions(): AppSessions {
    return new AppSessions(this.ctx.storage.sql);
  }

  // --- rooms and webhooks --------------------------------------------------------------------

  /**
   * Records that the session object `objectId` is in the room; idempotent. False when the room
   * already ended (its webhook came first): the session must end the call itself.
   */
  indexRoomSession(roomId: string, objectId: string): boolean {
    return !this.ready || this.webhooks().indexRoomSession(roomId, objectId);
  }

  /** The session objects in the room, removed from the index; the room is remembered as ended. */
  takeRoomSessions(roomId: string): string[] {
    return this.ready ? this.webhooks().takeRoomSessions(roomId, Date.now()) : [];
  }

  /**
   * Records a verified webhook signature; false when it was seen before (a replay). Signatures
   * older than `forgetBeforeSec` are dropped: the signature check refuses them as stale anyway.
   */
  markWebhookSeen(signature: string, signedAtSec: number, forgetBeforeSec: number): boolean {
    return this.ready && this.webhooks().markSeen(signature, signedAtSec, forgetBeforeSec);
  }

  /** Forgets a signature whose handling failed, so the sender's retry is applied. */
  forgetWebhook(signature: string): void {
    if (this.ready) this.webhooks().forget(signature);
  }

  private webhooks(): AppWebhooks {
    return new AppWebhooks(this.ctx.storage.sql);
  }

  // --- tenant API ----------------------------------------------------------------------------

  /** Stores a new key's hash (app-tenant-keys.ts: the oldest beyond two are revoked). Null: no app. */
  addTenantKey(keyId: string, hash: string): TenantKeyInfo[] | null {
    return this.ready ? this.tenantKeys().add(keyId, hash, Date.now()) : null;
  }

  listTenantKeys(): TenantKeyInfo[] {
    return this.ready ? this.tenantKeys().list() : [];
  }

  /** True when a key with that id existed. */
  revokeTenantKey(keyId: string): boolean {
    return this.ready && this.tenantKeys().revoke(keyId);
  }

  /** Whether `hash` (SHA-256 of a presented key) is one of this app's live keys. */
  tenantKeyValid(hash: string): boolean {
    return this.ready && this.tenantKeys().valid(hash);
  }

  private tenantKeys(): AppTenantKeys {
    return new AppTenantKeys(this.ctx.storage.sql);
  }

  /**
   * An attach ticket for the user (HS256, claims appId, userId, exp, and a random jti: a session
   * accepts each ticket once), signed here so the app's attachTicketSecret never leaves this object.
   */
  async mintTicket(userId: string, ttlSec: number, nowSec: number): Promise<Result<{ ticket: string; expiresAt: number }>> {
    const row = this.row();
    if (row === undefined) return fail(kaleyraError("app_id_invalid"));
    const settings = toRecord(row);
    if (row.attach_ticket_secret === null) return fail(kaleyraError("ticket_secret_missing"));
    if (!(settings.attachModes ?? []).includes("ticket")) return fail(kaleyraError("tickets_disabled"));
    const ttl = Math.min(Math.max(1, Math.floor(ttlSec)), MAX_TICKET_LIFETIME_SEC);
    const exp = Math.floor(nowSec) + ttl;
    const ticket = await signHs256({ appId: row.app_id, userId, exp, jti: crypto.randomUUID() }, row.attach_ticket_secret);
    return ok({ ticket, expiresAt: exp * 1_000 });
  }

  // --- migration from v1 ---------------------------------------------------------------------

  /**
   * Takes over an app from v1's deployment-wide registry (AppRegistry's migration): its settings
   * and secrets (only if this object has no app yet, so a resumed migration changes nothing),
   * its session slots (status unknown until each session's next change: listed as connecting),
   * and its room index. Settings that no longer parse are refused, and the copy of that app stops.
   */
  importV1(appId: string, app: V1App, sessions: string[], rooms: { room_id: string; object_id: string }[], endedRooms: { room_id: string; ended_at: number }[]): Result<null> {
    if (this.row() === undefined) {
      const settings = { ...(JSON.parse(app.settings) as object), environment: app.environment, region: app.region } as AppSettings;
      const secrets: AppSecretsUpdate = { kaleyraApiKey: app.kaleyra_api_key, tokenWebhookSecret: app.token_webhook_secret, attachTicketSecret: app.attach_ticket_secret };
      const written = this.write(appId, settings, secrets, "keep");
      if (!written.ok) return written;
      this.ctx.storage.sql.exec("UPDATE app SET created_at = ?, updated_at = ?", app.created_at, app.updated_at);
    }
    const sql = this.ctx.storage.sql;
    for (const objectId of sessions) sql.exec("INSERT OR IGNORE INTO sessions (object_id, status, updated_at) VALUES (?, 'connecting', 0)", objectId);
    for (const r of rooms) sql.exec("INSERT OR IGNORE INTO room_sessions (room_id, object_id) VALUES (?, ?)", r.room_id, r.object_id);
    for (const r of endedRooms) sql.exec("INSERT OR IGNORE INTO ended_rooms (room_id, ended_at) VALUES (?, ?)", r.room_id, r.ended_at);
    return ok(null);
  }

  // --- storage -------------------------------------------------------------------------------

  private row(): AppRow | undefined {
    if (!this.ready) return undefined;
    return this.ctx.storage.sql.exec<AppRow>(APP_ROW_QUERY).toArray()[0];
  }

  // Synchronous from read to write, so no other call interleaves and `created` is exact.
  private write(appId: string, input: AppSettings, update: AppSecretsUpdate, existing: "replace" | "keep"): Result<AppWrite> {
    if (!isAppId(appId)) return fail(kaleyraError("bad_request", "appId"));
    const parsed = parseAppSettings(input, { allowLocalWebhooks: this.env.ALLOW_LOCAL_WEBHOOKS === "1" });
    if (!parsed.ok) return parsed;
    const beforeRow = this.row();
    if (beforeRow !== undefined && beforeRow.app_id !== appId) return fail(kaleyraError("bad_request", "appId"));
    if (beforeRow !== undefined && existing === "keep") return ok({ record: toRecord(beforeRow), created: false });
    const merged = mergeSecrets(beforeRow === undefined ? {} : secretsOf(beforeRow), update);
    if (!merged.ok) return merged;
    const secrets = merged.value;
    const missing = requiredSecretMissing(parsed.value, secrets);
    if (missing !== undefined) return fail(invalidInput("bad_request", [{ field: missing, reason: SECRET_NEEDED_BY[missing] }]));
    if (!this.ready) {
      for (const statement of SCHEMA) this.ctx.storage.sql.exec(statement);
      this.ready = true;
    }
    const now = Date.now();
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO app (app_id, settings, kaleyra_api_key, token_webhook_secret, attach_ticket_secret, created_at, updated_at, epoch)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      appId,
      JSON.stringify(parsed.value),
      secrets.kaleyraApiKey ?? null,
      secrets.tokenWebhookSecret ?? null,
      secrets.attachTicketSecret ?? null,
      beforeRow?.created_at ?? now,
      now,
      // Kept by updates; a deleted app's storage is wiped, so registering it again draws a new one.
      beforeRow?.epoch ?? crypto.randomUUID(),
    );
    this.wake().writeSecrets(secrets);
    return ok({ record: toRecord(this.row()!), created: beforeRow === undefined });
  }
}
