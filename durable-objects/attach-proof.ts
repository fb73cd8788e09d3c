/**
 * Proofs a client gives to attach to a token session (see AttachMode in core/protocol.ts):
 * - a resume credential this session issued: `<payload>.<mac>`, payload = base64url(JSON
 *   `{ a: appId, e: app epoch, u: userId, exp }`), mac = base64url(HMAC-SHA256(session key,
 *   payload)). The key is random per session object and deleted by clearSavedData, so a credential
 *   never works on another session, nor after a clear, nor after `exp`. The app's epoch is new each
 *   time the app is registered, so deleting an app voids every credential of its sessions, idle
 *   ones included, even if the app is registered again.
 * - a tenant-signed attach ticket: an HS256 JWT with claims `appId`, `userId`, `exp` (seconds, at
 *   most 5 minutes ahead) and `jti`, signed with the app's attachTicketSecret (rules in
 *   core/ticket.ts; the session remembers each `jti` it accepted until `exp`).
 * Invariant: checks never throw; they answer false for anything malformed.
 */
import { ticketClaims, type AcceptedTicket } from "../core/ticket";
import { base64UrlDecode, base64UrlEncode, hmacSha256Key, verifyHs256 } from "../crypto/jwt";

const RESUME_TTL_MS = 10 * 60_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function newResumeKey(): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
}

/** Whom a resume credential is for: one user of one registration of one app. */
export interface ResumeSubject {
  appId: string;
  userId: string;
  epoch: string;
}

export async function issueResume(key: string, subject: ResumeSubject, now: number): Promise<{ credential: string; expiresAt: number }> {
  const expiresAt = now + RESUME_TTL_MS;
  const payload = base64UrlEncode(JSON.stringify({ a: subject.appId, e: subject.epoch, u: subject.userId, exp: expiresAt }));
  const mac = await crypto.subtle.sign("HMAC", await hmacSha256Key(key, "sign"), encoder.encode(payload));
  return { credential: `${payload}.${base64UrlEncode(new Uint8Array(mac))}`, expiresAt };
}

export async function checkResume(key: string, credential: string, subject: ResumeSubject, now: number): Promise<boolean> {
  try {
    const [payload, mac, extra] = credential.split(".");
    const macBytes = mac === undefined ? undefined : base64UrlDecode(mac);
    if (payload === undefined || macBytes === undefined || extra !== undefined) return false;
    if (!(await crypto.subtle.verify("HMAC", await hmacSha256Key(key, "verify"), macBytes, encoder.encode(payload)))) return false;
    const bytes = base64UrlDecode(payload);
    const claims = bytes === undefined ? undefined : (JSON.parse(decoder.decode(bytes)) as { a?: unknown; e?: unknown; u?: unknown; exp?: unknown });
    const { appId, userId, epoch } = subject;
    return claims?.a === appId && claims.e === epoch && claims.u === userId && typeof claims.exp === "number" && claims.exp > now;
  } catch {
    return false;
  }
}

/** The ticket's id and expiry when its signature and claims hold (its one use is the session's to check). */
export async function checkTicket(secret: string, ticket: string, appId: string, userId: string, now: number): Promise<AcceptedTicket | undefined> {
  try {
    const verified = await verifyHs256(ticket, secret);
    return verified.ok ? ticketClaims(verified.claims, { appId, userId }, now) : undefined;
  } catch {
    return undefined;
  }
}
