/**
 * In-process fake of Kaleyra's realtime services, for tests and `npm start` until the emulator
 * exists. Deterministic from its inputs plus the knobs in `fakeRemoteControls`, which tests set.
 *
 * Tokens are `fake:<userId>:<expiresAtMs>` (see fakeToken). Access links are URLs whose path holds
 * `/direct-rest-call-handler/<code>`, like Kaleyra's; the link's user is `guest-<code>`.
 */
import type { KaleyraRemote, MintAccessTokenRequest, MintAccessTokenResult, OpenSessionRequest, OpenSessionResult, ServerTokenMinter } from "./port";

export const fakeRemoteControls = {
  /** "refuse": every call answers unavailable; "hang": every call never answers. */
  outage: "none" as "none" | "refuse" | "hang",
  inactiveUsers: new Set<string>(),
  /** Every credential the fake was asked to open, in order (tests count remote requests). */
  opened: [] as string[],
  /** The user of every server-side token minted, in order (tests count calls to the token source). */
  minted: [] as string[],
  reset(): void {
    this.outage = "none";
    this.inactiveUsers.clear();
    this.opened.length = 0;
    this.minted.length = 0;
  },
};

export function fakeToken(userId: string, expiresAt: number): string {
  return `fake:${userId}:${expiresAt}`;
}

const TOKEN = /^fake:([A-Za-z0-9_.@+-]{1,128}):(\d{1,16})$/;
const LINK_PATH = /\/direct-rest-call-handler\/([A-Za-z0-9_-]{1,64})$/;

export class FakeRemote implements KaleyraRemote, ServerTokenMinter {
  async openSession(request: OpenSessionRequest): Promise<OpenSessionResult> {
    const c = request.credential;
    fakeRemoteControls.opened.push(c.kind === "token" ? c.token : c.accessLink);
    if (fakeRemoteControls.outage === "refuse") return { ok: false, error: "unavailable" };
    if (fakeRemoteControls.outage === "hang") return new Promise(() => {});
    if (c.kind === "access_link") {
      const code = LINK_PATH.exec(new URL(c.accessLink).pathname)?.[1];
      return code === undefined ? { ok: false, error: "invalid_access_link" } : { ok: true, userId: `guest-${code}` };
    }
    const m = TOKEN.exec(c.token);
    if (!m) return { ok: false, error: "token_invalid" };
    const [, userId = "", exp = "0"] = m;
    if (fakeRemoteControls.inactiveUsers.has(userId)) return { ok: false, error: "user_inactive" };
    if (Number(exp) <= request.now) return { ok: false, error: "token_expired" };
    return { ok: true, userId, expiresAt: Number(exp) };
  }

  async closeSession(): Promise<void> {}

  /** Any `ak_test_…`/`ak_live_…` key mints a fake token for the user. */
  async mintAccessToken(request: MintAccessTokenRequest): Promise<MintAccessTokenResult> {
    fakeRemoteControls.minted.push(request.userId);
    if (fakeRemoteControls.outage !== "none") return { ok: false, error: "unavailable" };
    if (!/^ak_(live|test)_/.test(request.apiKey)) return { ok: false, error: "unauthorized" };
    const expiresAt = Date.now() + request.expiresInSec * 1_000;
    return { ok: true, token: fakeToken(request.userId, expiresAt), expiresAt };
  }
}
