/**
 * Talking to the local stack: the admin API, the Kaleyra emulator (control API, users), HS256
 * tokens and attach tickets signed here (the emulator app's signing secret is chosen by the bench,
 * so token expiry is exact and minting costs no request), and a raw-protocol client.
 *
 * The client speaks docs/protocol.md directly (not client/index.ts), so every frame is timed where
 * it arrives. It copes with the attach gate when the server has one (an `auth_required` first
 * frame): it proves itself with a tenant-signed ticket when the app allows it, else with a token.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { requestJson } from "../../scripts/lib/http.mjs";
import { nowMs, sleep, waitUntil } from "./proc.mjs";

const b64u = (buf) => Buffer.from(buf).toString("base64url");

export function signHs256(claims, secret) {
  const input = `${b64u(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${b64u(createHmac("sha256", secret).update(input).digest())}`;
}

// The emulator checks the real claims (dev/emulator/rest.ts tokenClaims): issuer and all.
export const EMULATOR_ISSUER = "@switchboard-core";

/** A Kaleyra-shaped access token for `user`, expiring at `expSec` (unix seconds). */
export function accessToken(app, user, expSec) {
  const iat = Math.min(Math.floor(Date.now() / 1000), expSec - 1);
  return signHs256({ user, companyId: app.companyId, allowCamera: true, iat, exp: expSec, iss: EMULATOR_ISSUER, sub: `${user}#${app.companyId}` }, app.signingSecret);
}

/** An attach ticket (core/ticket.ts): `exp` at most 5 minutes ahead, a fresh `jti` (accepted once). */
export function attachTicket(app, userId, expSec) {
  return signHs256({ appId: app.appId, userId, exp: expSec, jti: randomUUID() }, app.ticketSecret);
}

/** JSON to the stack under test; the bench's loaded machine gets a longer deadline than the scripts'. */
export const call = (stack, method, path, body, headers) => requestJson(`${stack.base}${path}`, { method, body, headers, timeoutMs: 20_000 });

export async function setFaults(stack, faults) {
  // Once more on a network error: the request is idempotent (PUT replaces the faults).
  const r = await call(stack, "PUT", "/emulator/control/faults", faults).catch(() => call(stack, "PUT", "/emulator/control/faults", faults));
  if (r.status !== 200) throw new Error(`PUT faults: ${r.status} ${JSON.stringify(r.json)}`);
}

/**
 * Registers an app on both sides: in the emulator (with a signing secret the bench knows) and in
 * the orchestrator's registry (admin API) with `retryPolicy`. Also asks for ticket attach when the
 * registry knows that setting; falls back to the plain registration when it does not.
 */
export async function registerApp(stack, adminToken, appId, retryPolicy, extra = {}) {
  const signingSecret = randomBytes(32).toString("hex");
  const apiKey = `ak_test_${appId.slice(7).replace(/[^A-Za-z0-9_-]/g, "")}_key`;
  const emu = await call(stack, "POST", "/emulator/control/apps", { appId, apiKey, signingSecret });
  if (emu.status !== 201) throw new Error(`emulator app ${appId}: ${emu.status} ${JSON.stringify(emu.json)}`);
  const ticketSecret = randomBytes(24).toString("hex");
  const auth = { Authorization: `Bearer ${adminToken}` };
  const base = { environment: "sandbox", region: "eu" };
  if (retryPolicy) base.retryPolicy = retryPolicy;
  let reg = await call(stack, "PUT", `/v1/apps/${appId}`, { ...base, attachModes: ["ticket", "token", "resume"], attachTicketSecret: ticketSecret, maxSessions: 1_000_000, ...extra }, auth);
  let tickets = true;
  if (reg.status === 400) {
    tickets = false;
    reg = await call(stack, "PUT", `/v1/apps/${appId}`, base, auth);
  }
  if (reg.status !== 200 && reg.status !== 201) throw new Error(`PUT /v1/apps/${appId}: ${reg.status} ${JSON.stringify(reg.json)}`);
  return { appId, apiKey, signingSecret, companyId: emu.json.companyId, ticketSecret: tickets ? ticketSecret : undefined, retryPolicy };
}

/** Creates users in the emulator app, `concurrency` requests at a time. */
export async function createUsers(stack, app, userIds, concurrency = 16) {
  let next = 0;
  const worker = async () => {
    while (next < userIds.length) {
      const user_id = userIds[next++];
      const r = await call(stack, "POST", "/emulator/v2/users", { user_id, role: "plus" }, { apikey: app.apiKey });
      if (r.status !== 201 && r.status !== 409) throw new Error(`create user ${user_id}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * One client socket of one user, speaking the wire protocol.
 * Options:
 *  - tokens(req): the token to answer a token_request with, or null to stay silent (never answer);
 *  - connect: send `connect` after the first state (default true);
 *  - proveWith: "ticket" (default, when the app allows it) or "token" (ask the server for a token
 *    request: with no session running that starts the proof, whose states are kept in `proof`);
 *  - onFrame(frame, t): every frame, with its arrival time (ms, wall clock);
 *  - ticketSeconds: the attach ticket's lifetime (default 300). A session remembers a used ticket
 *    until it expires and wakes then to forget it: a stage that counts wake-ups uses short ones.
 */
export class Client {
  constructor(stack, app, userId, { tokens = () => null, connect = true, proveWith = "ticket", onFrame, ticketSeconds = 300 } = {}) {
    this.ticketSeconds = ticketSeconds;
    this.stack = stack;
    this.app = app;
    this.userId = userId;
    this.tokens = tokens;
    this.wantConnect = connect;
    this.proveWith = proveWith;
    this.onFrame = onFrame;
    this.frames = [];
    this.state = undefined;
    this.tOpenStart = undefined;
    this.tOpen = undefined;
    this.tFirstFrame = undefined;
    this.tFirstState = undefined;
    this.gated = false;
    this.closed = false;
    this.error = undefined;
  }

  open() {
    const url = `${this.stack.wsBase}/v1/apps/${this.app.appId}/socket?environment=sandbox&region=eu&userId=${encodeURIComponent(this.userId)}`;
    this.tOpenStart = nowMs();
    const ws = new WebSocket(url);
    this.ws = ws;
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
    ws.addEventListener("open", () => {
      this.tOpen = nowMs();
    });
    ws.addEventListener("message", (ev) => this.onMessage(ev.data, nowMs()));
    ws.addEventListener("close", (ev) => {
      this.closed = true;
      this.closeCode = ev.code;
      this.resolveReady(false);
    });
    ws.addEventListener("error", () => {
      this.error = this.error ?? "socket error";
    });
    return this.ready;
  }

  send(frame) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  onMessage(data, t) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (this.tFirstFrame === undefined) this.tFirstFrame = t;
    this.onFrame?.(frame, t, this);
    switch (frame.type) {
      case "auth_required": {
        this.gated = true;
        if (this.proveWith !== "token" && this.app.ticketSecret && frame.modes.includes("ticket")) {
          this.send({ type: "auth", ticket: attachTicket(this.app, this.userId, Math.floor(Date.now() / 1000) + this.ticketSeconds) });
        } else if (frame.modes.includes("token")) {
          // Token proof: the server asks for the token (a token_request, answered by `tokens`).
          this.send({ type: "auth", askToken: true });
        }
        return;
      }
      case "state": {
        // The socket's own proof (not a client yet): its progress, not the attach state.
        if (frame.proof) {
          this.proof = frame.state;
          return;
        }
        this.state = frame.state;
        if (this.tFirstState === undefined) {
          this.tFirstState = t;
          this.resolveReady(true);
          if (this.wantConnect && !this.connectSent) {
            this.send({ type: "connect", userId: this.userId });
            this.connectSent = true;
          }
        }
        return;
      }
      case "token_request": {
        const token = this.tokens(frame, this);
        if (token) this.send({ type: "token", requestId: frame.requestId, token });
        return;
      }
      case "data_cleared":
        this.cleared = true;
        return;
      case "error":
        this.error = `${frame.code}: ${frame.message}`;
        return;
    }
  }

  close() {
    try {
      this.ws?.close();
    } catch {
      // Already closing.
    }
  }
}

/**
 * Opens `count` clients with at most `concurrency` attaches in flight; resolves with the clients
 * once every one has its first state frame (or failed). `make(i)` builds client i.
 */
export async function openMany(count, concurrency, make, { timeoutMs = 120_000, progress } = {}) {
  const clients = [];
  let next = 0;
  let done = 0;
  const deadline = Date.now() + timeoutMs;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const c = make(next++);
      clients.push(c);
      let timer;
      await Promise.race([c.open(), new Promise((r) => { timer = setTimeout(r, Math.max(0, deadline - Date.now())); })]);
      clearTimeout(timer);
      done += 1;
      if (progress && done % progress.every === 0) progress.say(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return clients;
}

/** Closes every socket; waits (at most 3 s) for the close handshakes, then `settleMs`. */
export async function closeAll(clients, settleMs = 500) {
  for (const c of clients) c.close();
  await waitUntil(() => clients.every((c) => c.closed || c.ws?.readyState === WebSocket.CLOSED), "sockets to close", 3_000, 50).catch(() => {});
  await sleep(settleMs);
}

/**
 * Ends the sessions of `clients` (one `disconnect` with clearSavedData per user, sent by the first
 * open client of that user), waits for each user's `disconnected` state (bounded), then closes
 * every socket: a benchmark leaves no session retrying behind it.
 */
export async function endSessions(clients, timeoutMs = 20_000) {
  const byUser = new Map();
  for (const c of clients) if (!c.closed && !byUser.has(c.userId)) byUser.set(c.userId, c);
  for (const c of byUser.values()) c.send({ type: "disconnect", clearSavedData: true });
  await waitUntil(
    () => [...byUser.values()].every((c) => c.closed || c.cleared || c.state?.status === "disconnected"),
    "sessions to end",
    timeoutMs,
    50,
  ).catch(() => {});
  await closeAll(clients);
}

/** A one-line picture of where clients stand, for error messages. */
export function describeClients(clients) {
  const by = {};
  for (const c of clients) {
    const k = `${c.state?.status ?? (c.gated ? "gated" : "no-state")}${c.closed ? `+closed(${c.closeCode})` : ""}${c.error ? `+error(${c.error.split(":")[0]})` : ""}`;
    by[k] = (by[k] ?? 0) + 1;
  }
  return JSON.stringify(by);
}
