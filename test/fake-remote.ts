/**
 * In-process fake of Kaleyra's realtime services, for tests and `npm start` until the emulator
 * exists. Deterministic from its inputs plus the knobs in `fakeRemoteControls`, which tests set.
 *
 * Tokens are `fake:<userId>:<expiresAtMs>` (see fakeToken). Access links are URLs whose path holds
 * `/direct-rest-call-handler/<code>`, like Kaleyra's; the link's user is `guest-<code>`.
 */
import type { Credential, RemoteError } from "../core/session";
import type { KaleyraRemote, MintAccessTokenRequest, MintAccessTokenResult, OpenSessionRequest, OpenSessionResult, RemoteEmitResult, RemoteListener, RemoteNotice, ServerTokenMinter, UpdateTokenResult } from "../core/port";

export const fakeRemoteControls = {
  /** "refuse": every call answers unavailable; "hang": every call never answers. */
  outage: "none" as "none" | "refuse" | "hang",
  /** Every open is refused with this error, as Kaleyra refusing the CONNECT (null: judged as usual). */
  refuseOpen: null as RemoteError | null,
  inactiveUsers: new Set<string>(),
  /** Every credential the fake was asked to open, in order (tests count remote requests). */
  opened: [] as string[],
  /** The `socket-id` (previousSocketId) of every open, in order (undefined: a first connect). */
  previousSocketIds: [] as (string | undefined)[],
  /** Opens for which this answers true wait (answered as usual) until `release()`: Kaleyra being slow. */
  hold: null as ((credential: Credential) => boolean) | null,
  held: [] as (() => void)[],
  /** Answers every held open. */
  release(): void {
    for (const go of this.held.splice(0)) go();
  },
  /** The user of every server-side token minted, in order (tests count calls to the token source). */
  minted: [] as string[],
  /** Every token given to a live connection (a refresh), in order. */
  updated: [] as string[],
  /** Connections that died without a word (no heartbeat): isAlive answers false for them. */
  dead: new Set<string>(),
  /** Connections that were closed, by the session or by a notice. */
  closed: new Set<string>(),
  /** Every client event emitted on a connection, in order. */
  emitted: [] as { sessionId: string; name: string; data: unknown }[],
  /** How Kaleyra answers an emit: `{ echo: data }`, a refusal, or never (the session times it out). */
  emitAnswer: "echo" as "echo" | "refuse" | "hang",
  /** Every fake's listener, so a test can play Kaleyra speaking on a connection. */
  listeners: new Set<RemoteListener>(),
  /** Kaleyra says something on the connection (every session object's fake hears it; only the holder acts). */
  notify(sessionId: string, notice: RemoteNotice): void {
    if (notice.type === "remote_lost" || notice.type === "user_deactivated") this.closed.add(sessionId);
    for (const listener of this.listeners) listener(sessionId, notice);
  },
  reset(): void {
    this.outage = "none";
    this.refuseOpen = null;
    this.inactiveUsers.clear();
    this.opened.length = 0;
    this.previousSocketIds.length = 0;
    this.hold = null;
    this.held.length = 0;
    this.minted.length = 0;
    this.updated.length = 0;
    this.emitted.length = 0;
    this.emitAnswer = "echo";
    this.dead.clear();
    this.closed.clear();
    this.listeners.clear();
  },
};

let nextSessionId = 0;

export function fakeToken(userId: string, expiresAt: number): string {
  return `fake:${userId}:${expiresAt}`;
}

const TOKEN = /^fake:([A-Za-z0-9_.@+-]{1,128}):(\d{1,16})$/;
const LINK_PATH = /\/direct-rest-call-handler\/([A-Za-z0-9_-]{1,64})\/?$/;

export class FakeRemote implements KaleyraRemote, ServerTokenMinter {
  /** The connections this instance opened: like a real adapter's, gone with an eviction. */
  private readonly mine = new Set<string>();

  async openSession(request: OpenSessionRequest): Promise<OpenSessionResult> {
    const c = request.credential;
    fakeRemoteControls.opened.push(c.kind === "token" ? c.token : c.accessLink);
    fakeRemoteControls.previousSocketIds.push(request.previousSocketId);
    if (fakeRemoteControls.hold?.(c)) await new Promise<void>((go) => fakeRemoteControls.held.push(go));
    if (fakeRemoteControls.outage === "refuse") return { ok: false, error: "unavailable" };
    if (fakeRemoteControls.outage === "hang") return new Promise(() => {});
    if (fakeRemoteControls.refuseOpen !== null) return { ok: false, error: fakeRemoteControls.refuseOpen };
    const n = ++nextSessionId;
    const sessionId = `fake-${n}`;
    const socketId = `sio-${n}`;
    this.mine.add(sessionId);
    if (c.kind === "access_link") {
      const code = LINK_PATH.exec(new URL(c.accessLink).pathname)?.[1];
      return code === undefined ? { ok: false, error: "invalid_access_link" } : { ok: true, userId: `guest-${code}`, sessionId, socketId };
    }
    const checked = checkToken(c.token, request.now);
    if (!checked.ok) return checked;
    if (fakeRemoteControls.inactiveUsers.has(checked.userId)) return { ok: false, error: "user_inactive" };
    return { ok: true, userId: checked.userId, expiresAt: checked.expiresAt, sessionId, socketId };
  }

  async closeSession(request: { sessionId?: string }): Promise<void> {
    if (request.sessionId !== undefined) fakeRemoteControls.closed.add(request.sessionId);
  }

  async updateToken(sessionId: string, token: string): Promise<UpdateTokenResult> {
    fakeRemoteControls.updated.push(token);
    if (fakeRemoteControls.outage === "refuse" || !this.isAlive(sessionId)) return { ok: false, error: "unavailable" };
    if (fakeRemoteControls.outage === "hang") return new Promise(() => {});
    const checked = checkToken(token, Date.now());
    return checked.ok ? { ok: true, expiresAt: checked.expiresAt } : { ok: false, error: "token_invalid" };
  }

  async emit(sessionId: string, name: string, data: unknown): Promise<RemoteEmitResult> {
    if (!this.isAlive(sessionId)) return { ok: false, error: "not_connected" };
    fakeRemoteControls.emitted.push({ sessionId, name, data });
    if (fakeRemoteControls.emitAnswer === "hang") return new Promise(() => {});
    if (fakeRemoteControls.emitAnswer === "refuse") return { ok: false, error: "remote_refused" };
    return { ok: true, data: { echo: data ?? null } };
  }

  isAlive(sessionId: string): boolean {
    return this.mine.has(sessionId) && !fakeRemoteControls.dead.has(sessionId) && !fakeRemoteControls.closed.has(sessionId);
  }

  listen(listener: RemoteListener): void {
    fakeRemoteControls.listeners.add(listener);
  }

  check(): void {}

  nextDeadline(): number | undefined {
    return undefined;
  }

  tokenUserId(token: string): string | undefined {
    return TOKEN.exec(token)?.[1];
  }

  /** Any `ak_test_…`/`ak_live_…` key mints a fake token for the user. */
  async mintAccessToken(request: MintAccessTokenRequest): Promise<MintAccessTokenResult> {
    fakeRemoteControls.minted.push(request.userId);
    if (fakeRemoteControls.outage !== "none") return { ok: false, error: "unavailable" };
    if (!/^ak_(live|test)_/.test(request.apiKey)) return { ok: false, error: "unauthorized" };
    const expiresAt = Date.now() + request.expiresInSec * 1_000;
    return { ok: true, token: fakeToken(request.userId, expiresAt), expiresAt };
  }
}

function checkToken(token: string, now: number): { ok: true; userId: string; expiresAt: number } | { ok: false; error: "token_invalid" | "token_expired" } {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, error: "token_invalid" };
  const [, userId = "", exp = "0"] = m;
  if (Number(exp) <= now) return { ok: false, error: "token_expired" };
  return { ok: true, userId, expiresAt: Number(exp) };
}
