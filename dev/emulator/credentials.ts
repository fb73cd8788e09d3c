/**
 * How the emulator judges a realtime credential, shared by the Socket.IO endpoint (socket.ts) and
 * the REST stand-in (realtime.ts), answered with Kaleyra's CONNECT_ERROR names.
 * Check order for a token: signature and shape, claims, expiry, user claims, user exists, user
 * active. For a link: the code is known and its room has not ended, its user is active.
 * Invariant: judging changes nothing.
 */
import { verifyHs256 } from "../../crypto/jwt";
import type { AppRow, EmulatorStore } from "./store";

/** The `iss` of the tokens the emulator mints, as Kaleyra's. */
export const EMULATOR_ISSUER = "@switchboard-core";

export type Judged =
  | { ok: true; userId: string; kind: "token" | "access_link"; expiresAt: number | null; roomId: string | null }
  | { ok: false; name: JudgedError; message: string };

export type JudgedError =
  | "access_token_invalid"
  | "access_token_invalid_signature"
  | "access_token_expired"
  | "access_token_invalid_user"
  | "user_not_found"
  | "user_inactive"
  | "invalid_access_link";

const LINK_CODE = /\/direct-rest-call-handler\/([A-Za-z0-9_-]{1,64})\/?$/;

/** `userId` when the client names its user (it must be the token's). `now` in ms. */
export async function judgeToken(store: EmulatorStore, app: AppRow, token: string, userId: string | undefined, now: number): Promise<Judged> {
  const verified = await verifyHs256(token, app.signing_secret);
  if (!verified.ok) {
    return verified.reason === "bad_signature"
      ? refuse("access_token_invalid_signature", "the access token's signature is not this app's")
      : refuse("access_token_invalid", `the access token is not valid (${verified.reason})`);
  }
  const { user, companyId, iat, exp, iss, sub } = verified.claims;
  if (typeof user !== "string" || typeof companyId !== "string" || !isSeconds(iat) || !isSeconds(exp) || iss !== EMULATOR_ISSUER || typeof sub !== "string") {
    return refuse("access_token_invalid", "the access token lacks a claim or has a wrong one");
  }
  if (companyId !== app.company_id) return refuse("access_token_invalid", "the access token belongs to another company");
  if (Math.floor(now / 1000) >= exp) return refuse("access_token_expired", "the access token has expired");
  if (sub !== `${user}#${companyId}` || (userId !== undefined && userId !== user)) return refuse("access_token_invalid_user", "the access token belongs to another user");
  const row = store.user(app.app_id, user);
  if (!row) return refuse("user_not_found", "the token's user does not exist");
  if (row.active !== 1) return refuse("user_inactive", "the user is deactivated");
  return { ok: true, userId: user, kind: "token", expiresAt: exp * 1000, roomId: null };
}

export function judgeLink(store: EmulatorStore, app: AppRow, link: string): Judged {
  const code = linkCode(link);
  const participant = code === undefined ? undefined : store.participantByCode(app.app_id, code);
  const room = participant && store.room(app.app_id, participant.room_id);
  if (!participant || !room || room.ended_at !== null) return refuse("invalid_access_link", "the access link is unknown or its room has ended");
  if (store.user(app.app_id, participant.user_id)?.active !== 1) return refuse("user_inactive", "the user is deactivated");
  return { ok: true, userId: participant.user_id, kind: "access_link", expiresAt: null, roomId: room.room_id };
}

function refuse(name: JudgedError, message: string): Judged {
  return { ok: false, name, message };
}

function isSeconds(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function linkCode(link: string): string | undefined {
  if (link.length > 2_048) return undefined;
  try {
    return LINK_CODE.exec(new URL(link).pathname)?.[1];
  } catch {
    return undefined;
  }
}
