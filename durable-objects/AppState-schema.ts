/**
 * The shapes an AppState stores and answers with, and the pure conversions between them. One
 * object per app, so no table has an app_id key except `app` (one row). The tables are created
 * by the app's first write (AppState.write).
 */
import { isVapidKeyPair, SECRET_KEYS, type AppSecrets, type AppSecretsUpdate, type AppSettings } from "../core/app";
import { kaleyraError } from "../core/errors";
import { fail, ok, type Result } from "../core/result";
import type { ActiveStatus } from "../core/session";

export interface AppRecord extends AppSettings {
  appId: string;
  /** Which write-only secrets are set; never their values. */
  secrets: { [K in keyof AppSecrets]-?: boolean };
  /** The VAPID public key pages subscribe with (not a secret; the private half is). */
  vapidPublicKey?: string;
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

/** The statuses of a session that holds a slot (core's isActive). */
export type { ActiveStatus };

/** One active session as the tenant API lists it. An access link is never shown (a bearer secret). */
export interface SessionSummary {
  status: ActiveStatus;
  /** Absent until the session's first status report arrives. */
  kind?: "token" | "access_link";
  userId?: string;
  updatedAt: number;
}

export interface SessionPage {
  sessions: SessionSummary[];
  /** Present when more sessions follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export interface TenantKeyInfo {
  id: string;
  createdAt: number;
}

/** The secrets and timestamps columns, the same in v1's registry and in AppState. */
type SecretsAndTimes = {
  kaleyra_api_key: string | null;
  token_webhook_secret: string | null;
  attach_ticket_secret: string | null;
  created_at: number;
  updated_at: number;
};

export type AppRow = SecretsAndTimes &
  WakeSecretColumns & {
    app_id: string;
    epoch: string;
    /** JSON of the AppSettings (parseAppSettings's output). */
    settings: string;
  };

/** The `app_wake` table's row, joined to the app's (null when the app has none yet). */
export type WakeSecretColumns = {
  wake_webhook_secret: string | null;
  vapid_public_key: string | null;
  vapid_private_key: string | null;
};

/** The app's row with its wake secrets: the app's one row of each table. */
export const APP_ROW_QUERY = "SELECT app.*, w.wake_webhook_secret, w.vapid_public_key, w.vapid_private_key FROM app LEFT JOIN app_wake w ON w.id = 1";

/** An app as v1's deployment-wide registry stored it (for the one-time copy, AppRegistry.ts). */
export type V1App = SecretsAndTimes & {
  environment: string;
  region: string;
  /** JSON of the settings beyond environment and region. */
  settings: string;
};

export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS app (
    app_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    kaleyra_api_key TEXT,
    token_webhook_secret TEXT,
    attach_ticket_secret TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    epoch TEXT NOT NULL
  )`,
  // Active sessions: the app's session limit, removal of the app, and the tenant API's list.
  `CREATE TABLE IF NOT EXISTS sessions (
    object_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    kind TEXT,
    user_id TEXT,
    updated_at INTEGER NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status, object_id)",
  // Session objects that proved a socket of this registration (bounded): the app's removal ends
  // them too, idle ones included (durable-objects/app-sessions.ts).
  "CREATE TABLE IF NOT EXISTS proven_objects (object_id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)",
  "CREATE INDEX IF NOT EXISTS proven_objects_by_age ON proven_objects (seen_at)",
  // Which access-link sessions are in which Kaleyra room, so a room-ended webhook reaches them.
  `CREATE TABLE IF NOT EXISTS room_sessions (
    room_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    PRIMARY KEY (room_id, object_id)
  )`,
  // Rooms whose end was handled: a link session that indexes one later learns it ended.
  "CREATE TABLE IF NOT EXISTS ended_rooms (room_id TEXT PRIMARY KEY, ended_at INTEGER NOT NULL)",
  // Webhook signatures already accepted, within the signature tolerance: a replay is refused.
  "CREATE TABLE IF NOT EXISTS webhooks_seen (signature TEXT PRIMARY KEY, signed_at INTEGER NOT NULL)",
  // SHA-256 (hex) of each live tenant API key; the key itself is shown once and never stored.
  "CREATE TABLE IF NOT EXISTS tenant_keys (key_id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL)",
  // The wake secrets (issue 21), one row: a table of their own, so an app stored before them needs
  // no ALTER (every statement here is IF NOT EXISTS and runs at each start).
  `CREATE TABLE IF NOT EXISTS app_wake (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    wake_webhook_secret TEXT,
    vapid_public_key TEXT,
    vapid_private_key TEXT
  )`,
  // Which users a Kaleyra room calls (the tenant tells, docs/push.md): v0 on_call_incoming names
  // only the room, so this is how its call finds the users to wake.
  `CREATE TABLE IF NOT EXISTS wake_rooms (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
  )`,
];

/** A secrets update applied to the stored secrets: a string sets, null clears, absent keeps. */
export function mergeSecrets(stored: AppSecrets, update: AppSecretsUpdate): Result<AppSecrets> {
  const secrets = { ...stored };
  for (const key of SECRET_KEYS) {
    const value = update[key];
    if (value === null) delete secrets[key];
    else if (typeof value === "string") secrets[key] = value;
    else if (value !== undefined) return fail(kaleyraError("bad_request", key));
  }
  // RPC arguments are not type-checked at runtime: the pair's shape is checked again here.
  if (update.vapidKeys === null) delete secrets.vapidKeys;
  else if (isVapidKeyPair(update.vapidKeys)) secrets.vapidKeys = { publicKey: update.vapidKeys.publicKey, privateKey: update.vapidKeys.privateKey };
  else if (update.vapidKeys !== undefined) return fail(kaleyraError("bad_request", "vapidKeys"));
  return ok(secrets);
}

export function secretsOf(row: AppRow): AppSecrets {
  const secrets: AppSecrets = {};
  if (row.kaleyra_api_key !== null) secrets.kaleyraApiKey = row.kaleyra_api_key;
  if (row.token_webhook_secret !== null) secrets.tokenWebhookSecret = row.token_webhook_secret;
  if (row.attach_ticket_secret !== null) secrets.attachTicketSecret = row.attach_ticket_secret;
  if (row.wake_webhook_secret !== null) secrets.wakeWebhookSecret = row.wake_webhook_secret;
  if (row.vapid_public_key !== null && row.vapid_private_key !== null) secrets.vapidKeys = { publicKey: row.vapid_public_key, privateKey: row.vapid_private_key };
  return secrets;
}

export function toRecord(row: AppRow): AppRecord {
  // Only values that passed parseAppSettings are ever written (see AppState.write()).
  const settings = JSON.parse(row.settings) as AppSettings;
  const secrets = {
    kaleyraApiKey: row.kaleyra_api_key !== null,
    tokenWebhookSecret: row.token_webhook_secret !== null,
    attachTicketSecret: row.attach_ticket_secret !== null,
    wakeWebhookSecret: row.wake_webhook_secret !== null,
    vapidKeys: row.vapid_private_key !== null,
  };
  const vapid = row.vapid_public_key === null ? {} : { vapidPublicKey: row.vapid_public_key };
  return { appId: row.app_id, ...settings, secrets, ...vapid, epoch: row.epoch, createdAt: row.created_at, updatedAt: row.updated_at };
}
