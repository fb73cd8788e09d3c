/**
 * The production adapter to Kaleyra Video: realtime sessions (POST/DELETE
 * `${baseUrl}/realtime/v1/sessions`) and server-side token minting (POST `${baseUrl}/v2/sdk/credentials`).
 * Invariants:
 * - Never throws and never rejects: every refusal, 5xx, network error, timeout or unreadable
 *   answer becomes a result value ("unavailable" when nothing better is known).
 * - Every call ends within timeoutMs, whatever the remote does.
 * - Tokens, access links and API keys are never logged.
 */
import type { Environment, Region } from "../core/app";
import { USER_ID_PATTERN } from "../core/protocol";
import type { RemoteError } from "../core/session";
import { decodeJwt } from "./jwt";
import type {
  CloseSessionRequest,
  KaleyraRemote,
  MintAccessTokenRequest,
  MintAccessTokenResult,
  OpenSessionRequest,
  OpenSessionResult,
  ServerTokenMinter,
} from "./port";

export const DEFAULT_TIMEOUT_MS = 10_000;
export const MIN_EXPIRES_IN_SEC = 360;
export const MAX_EXPIRES_IN_SEC = 86_400;
export const REALTIME_SESSIONS_PATH = "/realtime/v1/sessions";
export const CREDENTIALS_PATH = "/v2/sdk/credentials";

export interface KaleyraAdapterOptions {
  /** Overrides the address derived from environment and region (tests: the emulator). */
  baseUrl?: string;
  fetch?: (request: Request) => Promise<Response>;
  /** Each call's budget, answer body included. Keep it below the session's remote deadline. */
  timeoutMs?: number;
}

/** Kaleyra's REST address for an app's environment and region. */
export function kaleyraBaseUrl(environment: Environment, region: Region): string {
  return environment === "sandbox" ? `https://api.sandbox.${region}.bandyer.com` : `https://api.${region}.bandyer.com`;
}

/** How an error answer to an open maps to the port's errors; anything unlisted is "unavailable". */
export const OPEN_ERROR_MAP: Readonly<Record<string, RemoteError>> = Object.freeze({
  access_token_expired: "token_expired",
  access_token_invalid: "token_invalid",
  access_token_invalid_user: "token_invalid",
  user_not_found: "token_invalid",
  user_inactive: "user_inactive",
  invalid_access_link: "invalid_access_link",
  app_id_invalid: "unavailable",
});

/** The port error for a non-2xx answer to an open: 5xx is always "unavailable". */
export function openErrorFor(status: number, body: unknown): RemoteError {
  if (status < 400 || status >= 500) return "unavailable";
  const name = errorName(body);
  return (name !== undefined && Object.hasOwn(OPEN_ERROR_MAP, name) ? OPEN_ERROR_MAP[name] : undefined) ?? "unavailable";
}

type Exchange = { kind: "answer"; status: number; body: unknown } | { kind: "failed"; reason: "network" | "timeout" };

/** Marks a body that was not JSON. */
const UNPARSEABLE = Symbol("unparseable");

interface OpenedSession {
  sessionId: string;
  baseUrl: string;
}

export class KaleyraAdapter implements KaleyraRemote, ServerTokenMinter {
  private readonly send: (request: Request) => Promise<Response>;
  private readonly timeoutMs: number;
  /** The last session opened per app and user, so closeSession works without a session id. */
  private readonly opened = new Map<string, OpenedSession>();

  constructor(private readonly options: KaleyraAdapterOptions = {}) {
    this.send = options.fetch ?? ((request) => fetch(request));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  baseUrl(environment: Environment, region: Region): string {
    return (this.options.baseUrl ?? kaleyraBaseUrl(environment, region)).replace(/\/+$/, "");
  }

  async openSession(request: OpenSessionRequest): Promise<OpenSessionResult> {
    const baseUrl = this.baseUrl(request.environment, request.region);
    const credential = request.credential;
    const body =
      credential.kind === "token"
        ? { app_id: request.appId, user_id: credential.userId, access_token: credential.token }
        : { app_id: request.appId, access_link: credential.accessLink };
    const answer = await this.exchange(`${baseUrl}${REALTIME_SESSIONS_PATH}`, { method: "POST", body: JSON.stringify(body) });
    if (answer.kind === "failed") return { ok: false, error: "unavailable" };
    if (answer.status < 200 || answer.status > 299) return { ok: false, error: openErrorFor(answer.status, answer.body) };
    const session = parseSession(answer.body);
    if (!session) return { ok: false, error: "unavailable" };
    if (credential.kind === "token" && session.userId !== credential.userId) return { ok: false, error: "token_invalid" };
    this.opened.set(sessionKey(request.appId, session.userId), { sessionId: session.sessionId, baseUrl });
    return { ok: true, ...session };
  }

  /** Best effort: the remote session also ends by itself when its token expires or its room ends. */
  async closeSession(request: CloseSessionRequest): Promise<void> {
    const key = request.userId === undefined ? undefined : sessionKey(request.appId, request.userId);
    const remembered = key === undefined ? undefined : this.opened.get(key);
    const sessionId = request.sessionId ?? remembered?.sessionId;
    if (sessionId === undefined) return;
    const isRemembered = remembered?.sessionId === sessionId;
    if (isRemembered && key !== undefined) this.opened.delete(key);
    const baseUrl = isRemembered ? remembered?.baseUrl : this.closeBaseUrl(request);
    if (baseUrl === undefined) return;
    await this.exchange(`${baseUrl}${REALTIME_SESSIONS_PATH}/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
  }

  private closeBaseUrl(request: CloseSessionRequest): string | undefined {
    if (this.options.baseUrl !== undefined) return this.options.baseUrl.replace(/\/+$/, "");
    return request.environment === undefined || request.region === undefined ? undefined : kaleyraBaseUrl(request.environment, request.region);
  }

  async mintAccessToken(request: MintAccessTokenRequest): Promise<MintAccessTokenResult> {
    const { apiKey, userId, expiresInSec } = request;
    if (typeof apiKey !== "string" || apiKey.length === 0 || apiKey.length > 256 || !/^[\x21-\x7e]+$/.test(apiKey)) {
      return { ok: false, error: "unauthorized" };
    }
    if (!USER_ID_PATTERN.test(userId) || !Number.isInteger(expiresInSec) || expiresInSec < MIN_EXPIRES_IN_SEC || expiresInSec > MAX_EXPIRES_IN_SEC) {
      return { ok: false, error: "invalid_request" };
    }
    const answer = await this.exchange(`${this.baseUrl(request.environment, request.region)}${CREDENTIALS_PATH}`, {
      method: "POST",
      headers: { apikey: apiKey },
      body: JSON.stringify({ user_id: userId, expires_in: expiresInSec }),
    });
    if (answer.kind === "failed") return { ok: false, error: "unavailable" };
    const { status, body } = answer;
    if (status === 401 || status === 403) return { ok: false, error: "unauthorized" };
    if (status === 404 && errorName(body) === "user_not_found") return { ok: false, error: "user_not_found" };
    if (status === 400) return { ok: false, error: "invalid_request" };
    if (status < 200 || status > 299 || !isObject(body)) return { ok: false, error: "unavailable" };
    const token = body.access_token;
    if (typeof token !== "string" || token.length === 0) return { ok: false, error: "unavailable" };
    const expiresAt = expiryOf(body.expires_at, token);
    return expiresAt === undefined ? { ok: false, error: "unavailable" } : { ok: true, token, expiresAt };
  }

  /** One request with the call budget; the answer's body is read (and parsed) within it too. */
  private async exchange(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Exchange> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const abort = new AbortController();
    const timeout = new Promise<Exchange>((resolve) => {
      timer = setTimeout(() => {
        abort.abort();
        resolve({ kind: "failed", reason: "timeout" });
      }, this.timeoutMs);
    });
    const attempt = (async (): Promise<Exchange> => {
      try {
        const headers: Record<string, string> = { accept: "application/json", ...init.headers };
        if (init.body !== undefined) headers["content-type"] = "application/json";
        const response = await this.send(new Request(url, { method: init.method, headers, signal: abort.signal, ...(init.body === undefined ? {} : { body: init.body }) }));
        const text = await response.text();
        return { kind: "answer", status: response.status, body: parseJson(text) };
      } catch {
        return { kind: "failed", reason: "network" };
      }
    })();
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function sessionKey(appId: string, userId: string): string {
  return `${appId}\u0000${userId}`;
}

function parseSession(body: unknown): { sessionId: string; userId: string; expiresAt?: number; roomId?: string } | undefined {
  if (!isObject(body)) return undefined;
  const { session_id, user_id, expires_at, room_id } = body;
  if (typeof session_id !== "string" || session_id.length === 0 || session_id.length > 256) return undefined;
  if (typeof user_id !== "string" || !USER_ID_PATTERN.test(user_id)) return undefined;
  const session: { sessionId: string; userId: string; expiresAt?: number; roomId?: string } = { sessionId: session_id, userId: user_id };
  if (expires_at !== undefined && expires_at !== null) {
    if (typeof expires_at !== "number" || !Number.isFinite(expires_at) || expires_at <= 0) return undefined;
    session.expiresAt = expires_at;
  }
  if (room_id !== undefined && room_id !== null) {
    if (typeof room_id !== "string" || room_id.length === 0 || room_id.length > 128) return undefined;
    session.roomId = room_id;
  }
  return session;
}

/** Kaleyra documents an ISO 8601 string; a number is taken as ms (or s when too small for ms). */
function expiryOf(value: unknown, token: string): number | undefined {
  if (typeof value === "string") {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  } else if (typeof value === "number" && Number.isFinite(value) && value > 0) {
    return value >= 1e12 ? value : value * 1000;
  }
  const exp = decodeJwt(token)?.claims.exp;
  return typeof exp === "number" && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
}

function errorName(body: unknown): string | undefined {
  return isObject(body) && typeof body.error === "string" ? body.error : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return UNPARSEABLE;
  }
}
