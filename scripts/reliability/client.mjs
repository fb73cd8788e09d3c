/**
 * A session client of the reliability scripts (scripts/reliability/restart.mjs and soak.mjs) over a
 * real WebSocket, recording every frame, and the attach ticket it proves itself with.
 * Invariant: traffic goes to 127.0.0.1 only. Every wait is bounded.
 */
import { createHmac, randomUUID } from "node:crypto";
import { waitUntil } from "../lib/proc.mjs";

/** A tenant-signed attach ticket: HS256 JWT { appId, userId, exp, jti } (core/ticket.ts: at most 5 minutes, used once). */
export function attachTicket(appId, userId, secret, expiresInSec = 300) {
  const b64 = (x) => Buffer.from(x).toString("base64url");
  const input = `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(JSON.stringify({ appId, userId, exp: Math.floor(Date.now() / 1000) + expiresInSec, jti: randomUUID() }))}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

let clientCounter = 0;

export class Client {
  /**
   * @param {string} wsBase  ws://127.0.0.1:port
   * @param {string} appId
   * @param {string} userId
   * @param {{ label?: string, onTokenRequest?: (client: Client, frame: object) => void,
   *   prove?: (modes: string[]) => object | undefined }} options
   *   prove answers the session's `auth_required` with an `auth` frame (resume or ticket).
   */
  constructor(wsBase, appId, userId, options = {}) {
    clientCounter += 1;
    this.id = `${options.label ?? userId}#${clientCounter}`;
    this.userId = userId;
    this.url = `${wsBase}/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=${encodeURIComponent(userId)}`;
    this.frames = [];
    this.onTokenRequest = options.onTokenRequest;
    this.onState = options.onState;
    this.prove = options.prove;
    /** The newest resume credential the session issued to this client. */
    this.resume = undefined;
    this.authMode = undefined;
    this.closed = false;
    this.closeCode = undefined;
    this.ws = undefined;
  }

  /** Opens the socket and resolves with the first state frame (bounded). */
  open(timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.id}: no first state frame within ${timeoutMs} ms`));
        try {
          this.ws?.close();
        } catch {
          // ignore
        }
      }, timeoutMs);
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.addEventListener("message", (e) => {
        let frame;
        try {
          frame = JSON.parse(String(e.data));
        } catch {
          return;
        }
        frame.at = Date.now();
        this.frames.push(frame);
        if (frame.type === "state") {
          if (this.frames.filter((f) => f.type === "state").length === 1) {
            clearTimeout(timer);
            resolve(frame.state);
          }
          this.onState?.(this, frame.state);
        } else if (frame.type === "token_request") {
          this.onTokenRequest?.(this, frame);
        } else if (frame.type === "resume") {
          this.resume = { credential: frame.credential, expiresAt: frame.expiresAt };
        } else if (frame.type === "auth_required") {
          const auth = this.prove?.(frame.modes);
          if (auth === undefined) {
            clearTimeout(timer);
            reject(new Error(`${this.id}: auth_required (${frame.modes.join(",")}) and no proof to give`));
            return;
          }
          this.authMode = "resume" in auth ? "resume" : "ticket";
          this.send(auth);
        } else if (frame.type === "error" && this.ofType("state").length === 0) {
          clearTimeout(timer);
          reject(new Error(`${this.id}: refused: ${frame.code}${frame.field ? ` (${frame.field})` : ""}`));
        }
      });
      ws.addEventListener("close", (e) => {
        this.closed = true;
        this.closeCode = e.code;
        clearTimeout(timer);
        reject(new Error(`${this.id}: closed before the first state (${e.code})`));
      });
      ws.addEventListener("error", () => {
        // A close event follows.
      });
    });
  }

  send(frame) {
    if (this.closed || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  ofType(type) {
    return this.frames.filter((f) => f.type === type);
  }

  states() {
    return this.ofType("state").map((f) => ({ ...f.state, at: f.at }));
  }

  lastState() {
    const s = this.ofType("state");
    return s[s.length - 1]?.state;
  }

  async waitFor(predicate, what, timeoutMs = 10_000) {
    return waitUntil(() => predicate(this), `${this.id}: ${what}`, timeoutMs, 5);
  }

  close() {
    if (!this.closed) {
      try {
        this.ws?.close(1000, "done");
      } catch {
        // ignore
      }
    }
  }
}

/** Transitions into "connected" from another status, in a list of views. */
export function connectTransitions(states, initialStatus = undefined) {
  let prev = initialStatus;
  let n = 0;
  for (const s of states) {
    if (s.status === "connected" && prev !== undefined && prev !== "connected") n += 1;
    prev = s.status;
  }
  return n;
}
