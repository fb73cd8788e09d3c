/**
 * The checks the attach gate (core/attach.ts) asks for: a resume credential against this session's
 * key, a ticket against the app's secret, a token against the remote, a link against the route's
 * digest. The rules of who may do what are in core; this is glue.
 * Invariant: a check never throws and changes nothing; it answers whether the proof holds.
 */
import { accessLinkDigest } from "../core/access-link";
import { DEFAULT_ATTACH_MODES, type AppSecrets } from "../core/app";
import type { AttachProof } from "../core/protocol";
import type { AcceptedTicket } from "../core/ticket";
import type { KaleyraRemote } from "../core/port";
import { checkResume, checkTicket } from "./attach-proof";
import type { SessionRoute } from "./session-route";

/** Narrow interface the checks use to reach the session object. */
export interface ProofChecksHost {
  remote: KaleyraRemote;
  now(): number;
  /** The session's resume key, or undefined when none exists (never issued, or cleared). */
  resumeKey(): string | undefined;
  appSecrets(appId: string): Promise<AppSecrets | null>;
  /** A valid ticket's one use (durable-objects/used-tickets.ts): false when it was used before. */
  useTicket(ticket: AcceptedTicket): Promise<boolean>;
}

/** What an unproven socket on this route may prove itself with (its first frame lists them). */
export function attachProofs(route: SessionRoute): AttachProof[] {
  return route.key.kind === "access_link" ? ["access_link"] : [...(route.app.attachModes ?? DEFAULT_ATTACH_MODES)];
}

export class ProofChecks {
  constructor(private readonly host: ProofChecksHost) {}

  async resume(route: SessionRoute, credential: string): Promise<boolean> {
    const key = this.host.resumeKey();
    if (key === undefined || route.key.kind !== "token") return false;
    return checkResume(key, credential, { appId: route.appId, userId: route.key.userId, epoch: route.appEpoch }, this.host.now());
  }

  async ticket(route: SessionRoute, ticket: string): Promise<boolean> {
    if (route.key.kind !== "token") return false;
    try {
      const secret = (await this.host.appSecrets(route.appId))?.attachTicketSecret;
      const accepted = secret === undefined ? undefined : await checkTicket(secret, ticket, route.appId, route.key.userId, this.host.now());
      return accepted !== undefined && (await this.host.useTicket(accepted));
    } catch {
      return false;
    }
  }

  async link(route: SessionRoute, accessLink: string): Promise<boolean> {
    return route.key.kind === "access_link" && (await accessLinkDigest(accessLink)) === route.key.linkDigest;
  }

  /** The user a token names, read without verifying it (the remote knows its tokens' format). */
  tokenUser(token: string): string | undefined {
    return this.host.remote.tokenUserId(token);
  }

  /**
   * A token proves the user of a connected session when Kaleyra takes it on the session's live
   * connection (`switchboard:access_token:update`): no second connection, and the session holds
   * the new token (its expiry comes back).
   */
  async tokenOnLive(remoteSessionId: string, token: string): Promise<{ ok: true; expiresAt?: number } | { ok: false; error: "refused" | "unavailable" }> {
    try {
      const updated = await this.host.remote.updateToken(remoteSessionId, token);
      if (updated.ok) return updated;
      return { ok: false, error: updated.error === "unavailable" ? "unavailable" : "refused" };
    } catch {
      return { ok: false, error: "unavailable" };
    }
  }

  /**
   * A token proves the user of a running session that is not connected (nothing live to carry it)
   * when the remote opens a session with it for that user; that remote session is not the
   * user's, so it is closed again (best effort). docs/protocol.md says why.
   */
  async token(route: SessionRoute, token: string): Promise<"ok" | "refused" | "unavailable"> {
    if (route.key.kind !== "token") return "refused";
    const { appId, app } = route;
    const userId = route.key.userId;
    try {
      const opened = await this.host.remote.openSession({
        appId,
        environment: app.environment,
        region: app.region,
        credential: { kind: "token", userId, token },
        now: this.host.now(),
        check: true,
        ...(app.kaleyra?.realtimeUrl === undefined ? {} : { realtimeUrl: app.kaleyra.realtimeUrl }),
      });
      if (!opened.ok) return opened.error === "unavailable" ? "unavailable" : "refused";
      const close = { appId, userId, environment: app.environment, region: app.region };
      void this.host.remote.closeSession(opened.sessionId === undefined ? close : { ...close, sessionId: opened.sessionId }).catch(() => {});
      return opened.userId === userId ? "ok" : "refused";
    } catch {
      return "unavailable";
    }
  }
}
