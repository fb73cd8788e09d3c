/**
 * What a reloaded page needs to know: the configuration, and which user's token session may still
 * be alive on the server (so start() can ask the app to connect it again, and disconnect() can end
 * it), and its resume credential. Never a token, never an access link.
 * Invariant: a storage that fails (quota, privacy mode, bad JSON) behaves as an empty one.
 */
import type { StorageLike } from "./platform";

export const CONFIGURATION_KEY = "kaleyra.configuration";
export const SESSION_KEY = "kaleyra.session";

/** The token session this page started and has not seen end. */
export interface SavedSession {
  appId: string;
  userId: string;
  /**
   * The short-lived credential the session issued: a reloaded page (or another tab) proves the
   * user with it instead of a token. Bound to that one session; useless after a clear.
   */
  resume?: { credential: string; expiresAt: number };
  /**
   * The last relayed event's seq, written by client/relay.ts (the core client does not keep it: it
   * drops the field when it rewrites the record, and the relay writes it again after each frame).
   */
  seq?: number;
}

export function readSaved(storage: StorageLike | undefined, key: string): unknown {
  try {
    const raw = storage?.getItem(key);
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the value as JSON, or removes the key when the value is undefined. */
export function writeSaved(storage: StorageLike | undefined, key: string, value?: object): void {
  try {
    if (value === undefined) storage?.removeItem(key);
    else storage?.setItem(key, JSON.stringify(value));
  } catch {
    // A full or forbidden storage only costs the reload convenience.
  }
}
