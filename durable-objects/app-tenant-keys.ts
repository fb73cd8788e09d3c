/**
 * An app's tenant API keys inside its AppState (table `tenant_keys`): SHA-256 hashes only, at most
 * MAX_TENANT_KEYS live (creating one more revokes the oldest: rotation with overlap).
 */
import type { TenantKeyInfo } from "./AppState-schema";

/** Live tenant keys per app: creating one more revokes the oldest (rotation with overlap). */
const MAX_TENANT_KEYS = 2;

export class AppTenantKeys {
  constructor(private readonly sql: SqlStorage) {}

  /** Stores a new key's hash; the oldest keys beyond MAX_TENANT_KEYS are revoked. */
  add(keyId: string, hash: string, now: number): TenantKeyInfo[] {
    this.sql.exec("INSERT INTO tenant_keys (key_id, hash, created_at) VALUES (?, ?, ?)", keyId, hash, now);
    this.sql.exec("DELETE FROM tenant_keys WHERE key_id NOT IN (SELECT key_id FROM tenant_keys ORDER BY created_at DESC, rowid DESC LIMIT ?)", MAX_TENANT_KEYS);
    return this.list();
  }

  list(): TenantKeyInfo[] {
    return this.sql
      .exec<{ key_id: string; created_at: number }>("SELECT key_id, created_at FROM tenant_keys ORDER BY created_at, rowid")
      .toArray()
      .map((r) => ({ id: r.key_id, createdAt: r.created_at }));
  }

  /** True when a key with that id existed. */
  revoke(keyId: string): boolean {
    return this.sql.exec("DELETE FROM tenant_keys WHERE key_id = ?", keyId).rowsWritten > 0;
  }

  /** Whether `hash` (SHA-256 of a presented key) is one of the live keys. */
  valid(hash: string): boolean {
    return this.sql.exec("SELECT 1 FROM tenant_keys WHERE hash = ?", hash).toArray().length > 0;
  }
}
