/**
 * The gate in front of a token session: a socket proves who it is before it becomes a client.
 * Proofs, as the app allows (AttachMode): a resume credential this session issued, a tenant-signed
 * ticket, or a token for the user that the remote accepts. For a token: when the session is not
 * running, the socket's `connect` starts it and the socket is provisional until a token it gave
 * connects (so the seed's token retry applies as usual); when it runs, the socket is asked for a
 * token of its own (`token_request` to it only), checked by opening a remote session and closing it.
 * Invariant: a refused proof changes nothing but the socket's own attachment; nothing about the
 * session (state, user presence) reaches an unverified socket.
 */
import { DEFAULT_ATTACH_MODES } from "../core/app";
import { errorFrame, type AttachMode, type ClientFrame } from "../core/protocol";
import type { AppSecrets } from "../core/app";
import type { KaleyraRemote } from "../remote/port";
import { checkResume, checkTicket } from "./attach-proof";
import { attachmentOf, send, updateAttachment, type Attachment } from "./sockets";

/** Narrow interface the gate uses to reach the session object. */
export interface AttachGateHost {
  remote: KaleyraRemote;
  now(): number;
  /** The session's resume key, or undefined when none exists (never issued, or cleared). */
  resumeKey(): string | undefined;
  appSecrets(appId: string): Promise<AppSecrets | null>;
  /** The socket is now a client. */
  verified(ws: WebSocket, attachment: Attachment): Promise<void>;
  /** True while the session runs (connecting, connected, reconnecting). */
  sessionActive(): boolean;
  /** An unproven socket starts a session that is not running: its own token proves it. */
  startProvisional(ws: WebSocket, attachment: Attachment): Promise<void>;
}

export function attachModes(attachment: Attachment): readonly AttachMode[] {
  return attachment.route.app.attachModes ?? DEFAULT_ATTACH_MODES;
}

export class AttachGate {
  constructor(private readonly host: AttachGateHost) {}

  /** Handles a frame from an unverified socket. */
  async onFrame(ws: WebSocket, frame: ClientFrame): Promise<void> {
    const a = attachmentOf(ws);
    const key = a.route.key;
    if (key.kind !== "token") return; // access-link sockets are verified at attach
    const modes = attachModes(a);
    switch (frame.type) {
      case "auth": {
        const mode: AttachMode = "resume" in frame ? "resume" : "ticket";
        if (!modes.includes(mode)) return send(ws, errorFrame("auth_failed", { field: mode }));
        const resumeKey = this.host.resumeKey();
        const ok = "resume" in frame
          ? resumeKey !== undefined && (await checkResume(resumeKey, frame.resume, a.route.appId, key.userId, this.host.now()))
          : await this.checkTicket(a, frame.ticket, key.userId);
        if (!ok) return send(ws, errorFrame("auth_failed", { field: mode }));
        return this.host.verified(ws, updateAttachment(ws, { verified: true, verifyRequestId: undefined }));
      }
      case "connect": {
        if (!("userId" in frame) || frame.userId !== key.userId) return send(ws, errorFrame("user_mismatch"));
        if (!modes.includes("token")) return send(ws, errorFrame("auth_required"));
        if (!this.host.sessionActive()) return this.host.startProvisional(ws, a);
        const requestId = `verify.${crypto.randomUUID()}`;
        updateAttachment(ws, { pendingConnect: true, verifyRequestId: requestId });
        return send(ws, { type: "token_request", requestId, userId: key.userId, attempt: 1 });
      }
      case "token":
      case "token_failed": {
        if (frame.requestId !== a.verifyRequestId) return send(ws, errorFrame("token_request_stale", { requestId: frame.requestId }));
        updateAttachment(ws, { verifyRequestId: undefined });
        if (frame.type === "token_failed") return send(ws, errorFrame("auth_failed", { field: "token" }));
        const ok = await this.checkToken(a, frame.token, key.userId);
        if (!ok) return send(ws, errorFrame("auth_failed", { field: "token" }));
        return this.host.verified(ws, updateAttachment(ws, { verified: true }));
      }
      default:
        return send(ws, errorFrame("auth_required"));
    }
  }

  private async checkTicket(a: Attachment, ticket: string, userId: string): Promise<boolean> {
    const secret = (await this.host.appSecrets(a.route.appId))?.attachTicketSecret;
    return secret !== undefined && checkTicket(secret, ticket, a.route.appId, userId, this.host.now());
  }

  /** A token proves the user when the remote opens a session with it for that user. */
  private async checkToken(a: Attachment, token: string, userId: string): Promise<boolean> {
    const { appId, app } = a.route;
    try {
      const opened = await this.host.remote.openSession({
        appId,
        environment: app.environment,
        region: app.region,
        credential: { kind: "token", userId, token },
        now: this.host.now(),
      });
      if (!opened.ok || opened.userId !== userId) return false;
      // The proof's own remote session is not the user's session: close it (best effort).
      const close = { appId, userId, environment: app.environment, region: app.region };
      void this.host.remote.closeSession(opened.sessionId === undefined ? close : { ...close, sessionId: opened.sessionId }).catch(() => {});
      return true;
    } catch {
      return false;
    }
  }
}
