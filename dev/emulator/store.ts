/**
 * The emulator's state in the Durable Object's SQLite storage: apps, users, rooms and their access
 * links, the webhook outbox; faults (HTTP and realtime) and the clock offset in the sync KV.
 * Invariants: every method is synchronous (one turn, so a request sees a consistent state), and
 * times are on the emulator's clock (ms since epoch) as passed in by the caller.
 */
import { base64UrlEncode } from "../../crypto/jwt";
import { DEFAULT_FAULTS, DEFAULT_REALTIME_FAULTS, type Faults, type RealtimeFaults } from "./faults";

export const DEMO_APP_ID = "mAppId_demo";
export const DEMO_API_KEY = "ak_test_demo_key";

export type AppRow = {
  app_id: string;
  api_key: string;
  company_id: string;
  signing_secret: string;
  webhook_url: string | null;
  created_at: number;
};

export type UserRow = {
  app_id: string;
  user_id: string;
  role: string;
  name: string | null;
  active: number;
  created_at: number;
  updated_at: number;
};

export type RoomRow = { room_id: string; app_id: string; created_at: number; ended_at: number | null };
export type ParticipantRow = { code: string; room_id: string; app_id: string; user_id: string; access_link: string };


export type OutboxRow = {
  id: number;
  app_id: string;
  event: string;
  url: string | null;
  headers: string;
  body: string;
  status: number | null;
  error: string | null;
  created_at: number;
};

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS apps (app_id TEXT PRIMARY KEY, api_key TEXT NOT NULL UNIQUE, company_id TEXT NOT NULL,
     signing_secret TEXT NOT NULL, webhook_url TEXT, created_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS users (app_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, name TEXT,
     active INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (app_id, user_id))`,
  `CREATE TABLE IF NOT EXISTS rooms (room_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, created_at INTEGER NOT NULL, ended_at INTEGER)`,
  `CREATE TABLE IF NOT EXISTS participants (code TEXT PRIMARY KEY, room_id TEXT NOT NULL, app_id TEXT NOT NULL,
     user_id TEXT NOT NULL, access_link TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, event TEXT NOT NULL,
     url TEXT, headers TEXT NOT NULL, body TEXT NOT NULL, status INTEGER, error TEXT, created_at INTEGER NOT NULL)`,
];
const TABLES = ["apps", "users", "rooms", "participants", "outbox"];

const FAULTS_KEY = "faults";
const REALTIME_FAULTS_KEY = "realtimeFaults";
const CLOCK_KEY = "clockOffsetMs";
/** Per app: how many realtime CONNECT packets named it (a count Kaleyra would see). */
const CONNECTS_PREFIX = "connects:";
const MAX_CONNECT_LOG = 20_000;

export class EmulatorStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly kv: SyncKvStorage,
  ) {
    for (const statement of SCHEMA) sql.exec(statement);
  }

  /** The demo app always exists: it is re-created after every reset. */
  ensureDemoApp(now: number): void {
    if (this.app(DEMO_APP_ID)) return;
    this.insertApp({
      app_id: DEMO_APP_ID,
      api_key: DEMO_API_KEY,
      company_id: crypto.randomUUID(),
      signing_secret: randomSecret(),
      webhook_url: null,
      created_at: now,
    });
  }

  reset(): void {
    for (const table of TABLES) this.sql.exec(`DELETE FROM ${table}`);
    this.kv.delete(FAULTS_KEY);
    this.kv.delete(REALTIME_FAULTS_KEY);
    this.kv.delete(CLOCK_KEY);
    for (const [key] of [...this.kv.list({ prefix: CONNECTS_PREFIX })]) this.kv.delete(key);
  }

  // apps

  app(appId: string): AppRow | undefined {
    return this.sql.exec<AppRow>("SELECT * FROM apps WHERE app_id = ?", appId).toArray()[0];
  }

  appByKey(apiKey: string): AppRow | undefined {
    return this.sql.exec<AppRow>("SELECT * FROM apps WHERE api_key = ?", apiKey).toArray()[0];
  }

  insertApp(row: AppRow): void {
    this.sql.exec(
      "INSERT INTO apps (app_id, api_key, company_id, signing_secret, webhook_url, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      row.app_id,
      row.api_key,
      row.company_id,
      row.signing_secret,
      row.webhook_url,
      row.created_at,
    );
  }

  setWebhookUrl(appId: string, url: string | null): void {
    this.sql.exec("UPDATE apps SET webhook_url = ? WHERE app_id = ?", url, appId);
  }

  // users

  user(appId: string, userId: string): UserRow | undefined {
    return this.sql.exec<UserRow>("SELECT * FROM users WHERE app_id = ? AND user_id = ?", appId, userId).toArray()[0];
  }

  insertUser(row: UserRow): void {
    this.sql.exec(
      "INSERT INTO users (app_id, user_id, role, name, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      row.app_id,
      row.user_id,
      row.role,
      row.name,
      row.active,
      row.created_at,
      row.updated_at,
    );
  }

  updateUser(row: UserRow): void {
    this.sql.exec(
      "UPDATE users SET role = ?, name = ?, active = ?, updated_at = ? WHERE app_id = ? AND user_id = ?",
      row.role,
      row.name,
      row.active,
      row.updated_at,
      row.app_id,
      row.user_id,
    );
  }

  /** In creation order. */
  users(appId: string, offset: number, limit: number): { users: UserRow[]; total: number } {
    const users = this.sql
      .exec<UserRow>("SELECT * FROM users WHERE app_id = ? ORDER BY rowid LIMIT ? OFFSET ?", appId, limit, offset)
      .toArray();
    const total = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM users WHERE app_id = ?", appId).one().n;
    return { users, total };
  }

  // rooms

  room(appId: string, roomId: string): RoomRow | undefined {
    return this.sql.exec<RoomRow>("SELECT * FROM rooms WHERE app_id = ? AND room_id = ?", appId, roomId).toArray()[0];
  }

  participants(roomId: string): ParticipantRow[] {
    return this.sql.exec<ParticipantRow>("SELECT * FROM participants WHERE room_id = ? ORDER BY rowid", roomId).toArray();
  }

  participantByCode(appId: string, code: string): ParticipantRow | undefined {
    return this.sql.exec<ParticipantRow>("SELECT * FROM participants WHERE app_id = ? AND code = ?", appId, code).toArray()[0];
  }

  insertRoom(room: RoomRow, participants: ParticipantRow[]): void {
    this.sql.exec("INSERT INTO rooms (room_id, app_id, created_at, ended_at) VALUES (?, ?, ?, ?)", room.room_id, room.app_id, room.created_at, room.ended_at);
    for (const p of participants) {
      this.sql.exec(
        "INSERT INTO participants (code, room_id, app_id, user_id, access_link) VALUES (?, ?, ?, ?, ?)",
        p.code,
        p.room_id,
        p.app_id,
        p.user_id,
        p.access_link,
      );
    }
  }

  endRoom(roomId: string, at: number): void {
    this.sql.exec("UPDATE rooms SET ended_at = ? WHERE room_id = ?", at, roomId);
  }

  /** The room and its access links are gone: the links are unknown from now on. */
  deleteRoom(roomId: string): void {
    this.sql.exec("DELETE FROM participants WHERE room_id = ?", roomId);
    this.sql.exec("DELETE FROM rooms WHERE room_id = ?", roomId);
  }

  // webhook outbox

  addOutbox(row: Omit<OutboxRow, "id">): number {
    return this.sql
      .exec<{ id: number }>(
        "INSERT INTO outbox (app_id, event, url, headers, body, status, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        row.app_id,
        row.event,
        row.url,
        row.headers,
        row.body,
        row.status,
        row.error,
        row.created_at,
      )
      .one().id;
  }

  settleOutbox(id: number, status: number | null, error: string | null): void {
    this.sql.exec("UPDATE outbox SET status = ?, error = ? WHERE id = ?", status, error, id);
  }

  outbox(appId?: string): OutboxRow[] {
    return appId === undefined
      ? this.sql.exec<OutboxRow>("SELECT * FROM outbox ORDER BY id").toArray()
      : this.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE app_id = ? ORDER BY id", appId).toArray();
  }

  clearOutbox(): void {
    this.sql.exec("DELETE FROM outbox");
  }

  // faults and clock

  faults(): Faults {
    return this.kv.get<Faults>(FAULTS_KEY) ?? DEFAULT_FAULTS;
  }

  setFaults(faults: Faults): void {
    this.kv.put(FAULTS_KEY, faults);
  }

  realtimeFaults(): RealtimeFaults {
    return this.kv.get<RealtimeFaults>(REALTIME_FAULTS_KEY) ?? DEFAULT_REALTIME_FAULTS;
  }

  setRealtimeFaults(faults: RealtimeFaults): void {
    this.kv.put(REALTIME_FAULTS_KEY, faults);
  }

  /** CONNECT times per app (real ms), memory only and bounded: the bench's herd measurements. */
  private readonly connectLog = new Map<string, number[]>();

  /** Counts a CONNECT for a known app, and notes when it came. */
  countConnect(appId: string, at = Date.now()): void {
    this.kv.put(CONNECTS_PREFIX + appId, this.connects(appId) + 1);
    const log = this.connectLog.get(appId) ?? [];
    if (log.length >= MAX_CONNECT_LOG) log.splice(0, log.length - MAX_CONNECT_LOG + 1);
    log.push(at);
    this.connectLog.set(appId, log);
  }

  /** The CONNECT times of an app at or after `since` (since this emulator instance started). */
  connectTimes(appId: string, since: number): number[] {
    return (this.connectLog.get(appId) ?? []).filter((t) => t >= since);
  }

  connects(appId: string): number {
    return this.kv.get<number>(CONNECTS_PREFIX + appId) ?? 0;
  }

  clockOffsetMs(): number {
    return this.kv.get<number>(CLOCK_KEY) ?? 0;
  }

  setClockOffsetMs(offsetMs: number): void {
    this.kv.put(CLOCK_KEY, offsetMs);
  }
}

/** 32 random bytes as hex: an HS256 signing secret. */
export function randomSecret(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `bytes` random bytes as base64url (url-safe, no padding). */
export function randomCode(bytes: number): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}
