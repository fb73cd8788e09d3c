/**
 * The server-side token source (the server's KaleyraVideoInitializer): gets a token for a user
 * with no client involved, from Kaleyra's credentials call (the app's API key) or from the
 * tenant's webhook. Answers with data and never throws; never logs a token or a secret.
 *
 * Tenant webhook contract: POST <webhookUrl>, JSON
 * `{ "type": "access_token_request", "app_id", "user_id", "request_id" }`, header
 * `kaleyra-edge-signature: t=<unix seconds>,v0=<hex HMAC-SHA256 over "<t>.<raw body>">` keyed with the
 * app's tokenWebhookSecret (the same scheme as Kaleyra's `bandyer-signature`). Answer 200 JSON
 * `{ "access_token": "<token>" }`; anything else is a failed attempt.
 * The call is guarded against server-side request forgery: the URL is checked again before every
 * call (core/webhook-url.ts), redirects are not followed (a 3xx fails the attempt), and at most
 * MAX_WEBHOOK_ANSWER_BYTES of the answer are read.
 */
import type { AppSecrets, Environment, Region, ServerTokenSettings } from "../core/app";
import { isWebhookUrl } from "../core/webhook-url";
import { MAX_TOKEN_LENGTH } from "../core/protocol";
import type { ServerTokenMinter } from "../core/port";
import { EDGE_SIGNATURE_HEADER, signWebhook } from "../crypto/signature";

export const MAX_WEBHOOK_ANSWER_BYTES = 16_384;
/** Lifetime asked of Kaleyra for server-minted tokens; refreshed 60 s before expiry. */
const SERVER_TOKEN_LIFETIME_SEC = 3_600;

export interface ServerTokenRequest {
  appId: string;
  userId: string;
  requestId: string;
  environment: Environment;
  region: Region;
  settings: ServerTokenSettings;
  secrets: AppSecrets;
  /** Bounds the webhook call; the session's attempt deadline bounds the attempt anyway. */
  timeoutMs: number;
  /** The local composition's ALLOW_LOCAL_WEBHOOKS: a webhook on loopback may be called. */
  allowLocal?: boolean;
  /** The app's Kaleyra REST base, when it overrides the derived one. */
  restUrl?: string;
}

/** `cause`: what the session's lastError names, when it is more than "the source had no token". */
export type ServerTokenResult = { ok: true; token: string } | { ok: false; reason: string; cause?: "unavailable" | "user_not_found" };

export interface ServerTokenDeps {
  minter: ServerTokenMinter;
  fetch: (request: Request) => Promise<Response>;
  nowSec: () => number;
}

export async function fetchServerToken(req: ServerTokenRequest, deps: ServerTokenDeps): Promise<ServerTokenResult> {
  try {
    return req.settings.source === "kaleyra_api" ? await fromKaleyra(req, deps) : await fromWebhook(req, deps);
  } catch (err) {
    return { ok: false, reason: `server token source failed: ${err instanceof Error ? err.name : "error"}` };
  }
}

async function fromKaleyra(req: ServerTokenRequest, deps: ServerTokenDeps): Promise<ServerTokenResult> {
  const apiKey = req.secrets.kaleyraApiKey;
  if (apiKey === undefined) return { ok: false, reason: "no kaleyraApiKey set for the app" };
  const minted = await deps.minter.mintAccessToken({
    environment: req.environment,
    region: req.region,
    apiKey,
    userId: req.userId,
    expiresInSec: SERVER_TOKEN_LIFETIME_SEC,
    ...(req.restUrl === undefined ? {} : { restUrl: req.restUrl }),
  });
  if (minted.ok) return { ok: true, token: minted.token };
  const reason = `kaleyra credentials: ${minted.error}`;
  // Unreachable (DNS, connection, timeout, 5xx) or an unknown user: the session says so, not token_failed.
  return minted.error === "unavailable" || minted.error === "user_not_found" ? { ok: false, reason, cause: minted.error } : { ok: false, reason };
}

async function fromWebhook(req: ServerTokenRequest, deps: ServerTokenDeps): Promise<ServerTokenResult> {
  const secret = req.secrets.tokenWebhookSecret;
  const url = req.settings.webhookUrl;
  if (secret === undefined || url === undefined) return { ok: false, reason: "token webhook not configured" };
  if (!isWebhookUrl(url, req.allowLocal === true)) return { ok: false, reason: "token webhook URL is not allowed (https to a public host only)" };
  const body = JSON.stringify({ type: "access_token_request", app_id: req.appId, user_id: req.userId, request_id: req.requestId });
  const signature = await signWebhook(secret, body, Math.floor(deps.nowSec()));
  const response = await deps.fetch(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/json", [EDGE_SIGNATURE_HEADER]: signature },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(req.timeoutMs),
    }),
  );
  if (response.status !== 200) {
    await response.body?.cancel();
    const redirected = response.status >= 300 && response.status < 400;
    return { ok: false, reason: redirected ? `token webhook redirected (${response.status}); redirects are not followed` : `token webhook answered ${response.status}` };
  }
  const text = await readBounded(response, MAX_WEBHOOK_ANSWER_BYTES);
  if (text === undefined) return { ok: false, reason: `token webhook answer is larger than ${MAX_WEBHOOK_ANSWER_BYTES} bytes` };
  const answer = parseJson(text) as { access_token?: unknown } | null;
  const token = answer?.access_token;
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH || /\s/.test(token)) {
    return { ok: false, reason: "token webhook answer has no valid access_token" };
  }
  return { ok: true, token };
}

/** The body as text, or undefined once it exceeds `max` bytes (the rest is never read). */
async function readBounded(response: Response, max: number): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
