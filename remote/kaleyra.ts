/**
 * The production adapter to Kaleyra Video: the user's realtime connection (Socket.IO to
 * `cs[.sandbox].{region}.bandyer.com/sdk/socket/`, remote/kaleyra-realtime.ts) and server-side token
 * minting (REST `POST ${baseUrl}/v2/sdk/credentials` with the app's API key).
 * Invariants:
 * - Never throws and never rejects: every refusal, 5xx, network error, timeout or unreadable
 *   answer becomes a result value ("unavailable" when nothing better is known).
 * - Every REST call ends within timeoutMs, whatever the remote does.
 * - Tokens, access links and API keys are never logged.
 */
import type { Environment, Region } from "../core/app";
import { USER_ID_PATTERN } from "../core/protocol";
import { jwtExpiryMs } from "../crypto/jwt";
import { RealtimeSessions, type RealtimeSessionsOptions } from "./kaleyra-realtime";
import type {
  CloseSessionRequest,
  KaleyraRemote,
  MintAccessTokenRequest,
  MintAccessTokenResult,
  OpenSessionRequest,
  OpenSessionResult,
  RemoteEmitResult,
  RemoteListener,
  ServerTokenMinter,
  UpdateTokenResult,
} from "../core/port";
import { isObject } from "../core/object";

const DEFAULT_TIMEOUT_MS = 10_000;
const MIN_EXPIRES_IN_SEC = 360;
const MAX_EXPIRES_IN_SEC = 86_400;
const CREDENTIALS_PATH = "/v2/sdk/credentials";

export interface KaleyraAdapterOptions {
  /** Overrides the REST address derived from environment and region (tests: the emulator). */
  baseUrl?: string;
  fetch?: (request: Request) => Promise<Response>;
  /** Each REST call's budget, answer body included. Keep it below the session's remote deadline. */
  timeoutMs?: number;
  /** The realtime connection's options (socket opener, base URL override, local addresses). */
  realtime?: RealtimeSessionsOptions;
}

/** Kaleyra's REST address for an app's environment and region. */
export function kaleyraBaseUrl(environment: Environment, region: Region): string {
  return environment === "sandbox" ? `https://api.sandbox.${region}.bandyer.com` : `https://api.${region}.bandyer.com`;
}

type Exchange = { kind: "answer"; status: number; body: unknown } | { kind: "failed"; reason: "network" | "timeout" };

/** Marks a body that was not JSON. */
const UNPARSEABLE = Symbol("unparseable");

export class KaleyraAdapter implements KaleyraRemote, ServerTokenMinter {
  private readonly send: (request: Request) => Promise<Response>;
  private readonly timeoutMs: number;
  private readonly realtime: RealtimeSessions;

  constructor(private readonly options: KaleyraAdapterOptions = {}) {
    this.send = options.fetch ?? ((request) => fetch(request));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.realtime = new RealtimeSessions(options.realtime);
  }

  baseUrl(environment: Environment, region: Region): string {
    return (this.options.baseUrl ?? kaleyraBaseUrl(environment, region)).replace(/\/+$/, "");
  }

  openSession(request: OpenSessionRequest): Promise<OpenSessionResult> {
    return this.realtime.open(request);
  }

  /** Closes the live connection; nothing to do when it is already gone. */
  async closeSession(request: CloseSessionRequest): Promise<void> {
    if (request.sessionId !== undefined) this.realtime.close(request.sessionId);
  }

  updateToken(sessionId: string, token: string): Promise<UpdateTokenResult> {
    return this.realtime.updateToken(sessionId, token);
  }

  emit(sessionId: string, name: string, data: unknown): Promise<RemoteEmitResult> {
    return this.realtime.emit(sessionId, name, data);
  }

  isAlive(sessionId: string): boolean {
    return this.realtime.isAlive(sessionId);
  }

  listen(listener: RemoteListener): void {
    this.realtime.listen(listener);
  }

  check(): void {
    this.realtime.check();
  }

  nextDeadline(): number | undefined {
    return this.realtime.nextDeadline();
  }

  tokenUserId(token: string): string | undefined {
    return this.realtime.tokenUserId(token);
  }

  async mintAccessToken(request: MintAccessTokenRequest): Promise<MintAccessTokenResult> {
    const { apiKey, userId, expiresInSec } = request;
    if (typeof apiKey !== "string" || apiKey.length === 0 || apiKey.length > 256 || !/^[\x21-\x7e]+$/.test(apiKey)) {
      return { ok: false, error: "unauthorized" };
    }
    if (!USER_ID_PATTERN.test(userId) || !Number.isInteger(expiresInSec) || expiresInSec < MIN_EXPIRES_IN_SEC || expiresInSec > MAX_EXPIRES_IN_SEC) {
      return { ok: false, error: "invalid_request" };
    }
    const base = request.restUrl?.replace(/\/+$/, "") ?? this.baseUrl(request.environment, request.region);
    const answer = await this.exchange(`${base}${CREDENTIALS_PATH}`, {
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

/** Kaleyra documents an ISO 8601 string; a number is taken as ms (or s when too small for ms). */
function expiryOf(value: unknown, token: string): number | undefined {
  if (typeof value === "string") {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  } else if (typeof value === "number" && Number.isFinite(value) && value > 0) {
    return value >= 1e12 ? value : value * 1000;
  }
  return jwtExpiryMs(token);
}

function errorName(body: unknown): string | undefined {
  return isObject(body) && typeof body.error === "string" ? body.error : undefined;
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return UNPARSEABLE;
  }
}
