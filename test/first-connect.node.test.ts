/**
 * A first connect against Kaleyra played by the reference Socket.IO server (the `socket.io`
 * package), through the whole stack: the orchestrator (test/node/local-worker.ts, the local
 * composition with REMOTE=kaleyra, so the production adapter dials the app's realtimeUrl), and the
 * thin client (client/index.ts) or a raw socket. The server refuses the first CONNECT with each name
 * Kaleyra documents; each gets the seed's outcome: a token refused is a failed attempt (retried, and
 * shown as lastError), Kaleyra refusing the app is "unreachable" (the reconnect schedule), an
 * unsupported SDK, a deactivated user and a refused link are final from the first CONNECT.
 */
import { Server } from "socket.io";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KaleyraVideo } from "../client/index";
import { startLocalWorker, type LocalWorker } from "./node/local-worker";

const ADMIN = "node-test-admin";
const APP_ID = "mAppId_nodefirst";
const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/nodecall";
/** Fast and exact (no jitter), so the retries are seen within the test. */
const POLICY = { tokenAttemptDelaysMs: [0, 200, 400], tokenAttemptTimeoutMs: 3_000, reconnectDelaysMs: [0, 300], reconnectSteadyDelayMs: 1_000, jitterMaxMs: 0 };

let io: Server;
let worker: LocalWorker | undefined;
let base: string;
/** How the scripted Kaleyra answers a CONNECT: refuse with a name, force the user out, or accept. */
let answer: { refuse: string } | "force_out" | "accept" = "accept";
const connects: { auth: Record<string, unknown>; at: number }[] = [];

beforeAll(async () => {
  io = new Server({ path: "/sdk/socket", transports: ["websocket"], pingInterval: 10_000, pingTimeout: 5_000 });
  io.use((socket, next) => {
    connects.push({ auth: socket.handshake.auth, at: Date.now() });
    next(typeof answer === "object" ? new Error(answer.refuse) : undefined);
  });
  io.on("connection", (socket) => {
    if (answer === "force_out") return void socket.emit("user:force_disconnect", { reason: "user_disabled" }, () => socket.disconnect(true));
    socket.emit("switchboard:connected", { user: { userId: socket.handshake.auth["user-id"] }, company: { id: "c1" } });
  });
  io.listen(0);
  const http = io.httpServer;
  await new Promise<void>((resolve) => (http.listening ? resolve() : http.once("listening", () => resolve())));
  const address = http.address();
  if (address === null || typeof address === "string") throw new Error("the socket.io server has no port");
  worker = await startLocalWorker({ REMOTE: "kaleyra", ADMIN_TOKEN: ADMIN });
  base = worker.base;
  const put = await fetch(`${base}/v1/apps/${APP_ID}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ environment: "sandbox", region: "eu", retryPolicy: POLICY, kaleyra: { realtimeUrl: `ws://127.0.0.1:${address.port}` } }),
  });
  if (put.status !== 201) throw new Error(`register the app: ${put.status} ${await put.text()}`);
}, 40_000);

afterAll(async () => {
  await worker?.dispose();
  await new Promise((resolve) => io?.close(resolve));
});

beforeEach(() => {
  connects.length = 0;
  answer = "accept";
});

let users = 0;

/** The thin client, connecting a user no session runs for; the provider answers at once. */
function client(userId = `user${++users}`) {
  const kaleyra = new KaleyraVideo({ server: base, storage: null });
  kaleyra.configure({ appId: APP_ID, environment: "sandbox", region: "eu" });
  const calls: number[] = [];
  const connecting = kaleyra.connect(userId, async () => {
    calls.push(Date.now());
    return `tok-${userId}-${calls.length}`;
  });
  let outcome: unknown = "pending";
  connecting.then((u) => (outcome = u), (e: unknown) => (outcome = e));
  return { kaleyra, calls, outcome: () => outcome, userId };
}

/** The CONNECTs of one user (a previous test's last attempt may still arrive). */
const of = (userId: string) => connects.filter((c) => c.auth["user-id"] === userId);

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 8_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Kaleyra refuses the first CONNECT: each documented name gets the seed's outcome", () => {
  it.each([
    ["access_token_expired", "token_expired"],
    ["access_token_invalid", "token_invalid"],
    ["access_token_invalid_signature", "token_invalid"],
    ["access_token_invalid_user", "token_invalid"],
    ["user_not_found", "user_not_found"],
  ])("%s: that token attempt failed; the client shows lastError %s, the provider is asked again 200 ms later, connect() stays pending", async (name, lastError) => {
    answer = { refuse: name };
    const c = client();
    const shown = await until(() => c.kaleyra.state.value.lastError === lastError && c.kaleyra.state.value, `lastError ${lastError}`);
    expect(shown).toMatchObject({ status: "connecting", tokenAttempt: 1 });
    await until(() => c.calls.length >= 2, "attempt 2");
    const [first] = of(c.userId);
    expect(c.calls[1]! - first!.at).toBeGreaterThanOrEqual(200);
    expect(first!.auth).toMatchObject({ "app-id": APP_ID, "user-id": c.userId, "access-token": `tok-${c.userId}-1` });
    expect(first!.auth["socket-id"]).toBeUndefined();
    expect(c.outcome()).toBe("pending");
    await c.kaleyra.disconnect();
  });

  it("app_id_invalid: Kaleyra refusing the app is unreachable: the reconnect schedule runs (reconnecting, lastError unavailable); connect() stays pending", async () => {
    answer = { refuse: "app_id_invalid" };
    const c = client();
    expect(await until(() => c.kaleyra.state.value.status === "reconnecting" && c.kaleyra.state.value, "reconnecting")).toMatchObject({ lastError: "unavailable" });
    await until(() => c.calls.length >= 2, "reconnect 1's token attempt");
    expect(c.outcome()).toBe("pending");
    await c.kaleyra.disconnect();
    // The prover leaving ends its proof: nothing runs on for it (the steady reconnect is 1 s).
    await new Promise((r) => setTimeout(r, 300));
    const after = of(c.userId).length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(of(c.userId).length).toBe(after);
  });

  it.each(["sdk_version_invalid", "sdk_version_unsupported"])("%s: final from the first CONNECT: connect() rejects unsupported_version, the client ends disconnected with it, no retry", async (name) => {
    answer = { refuse: name };
    const c = client();
    await until(() => c.outcome() !== "pending", "connect settled");
    expect(c.outcome()).toMatchObject({ code: "unsupported_version" });
    expect(c.kaleyra.state.value).toMatchObject({ status: "disconnected", error: "unsupported_version", transport: "idle" });
    await new Promise((r) => setTimeout(r, 1_000)); // a retry would come within 200 ms
    expect(of(c.userId)).toHaveLength(1);
    expect(c.calls).toHaveLength(1);
  });

  it("user:force_disconnect before switchboard:connected: final user_inactive, no retry", async () => {
    answer = "force_out";
    const c = client();
    await until(() => c.outcome() !== "pending", "connect settled");
    expect(c.outcome()).toMatchObject({ code: "user_inactive" });
    expect(c.kaleyra.state.value).toMatchObject({ status: "disconnected", error: "user_inactive", reason: "user_inactive" });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(of(c.userId)).toHaveLength(1);
  });

  it("invalid_access_link: a link Kaleyra refuses ends its first connect for good: connect() rejects invalid_access_link", async () => {
    answer = { refuse: "invalid_access_link" };
    const kaleyra = new KaleyraVideo({ server: base, storage: null });
    kaleyra.configure({ appId: APP_ID, environment: "sandbox", region: "eu" });
    await expect(kaleyra.connect(LINK)).rejects.toMatchObject({ code: "invalid_access_link" });
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", reason: "invalid_access_link" });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(connects.filter((x) => x.auth["access-link"] === LINK)).toHaveLength(1);
  });

  it("accepted after two refusals: connect() resolves on the third attempt, on the same socket", async () => {
    answer = { refuse: "access_token_expired" };
    const c = client();
    await until(() => of(c.userId).length >= 2, "two refusals");
    answer = "accept";
    await until(() => c.outcome() !== "pending", "connected");
    expect(c.outcome()).toEqual({ userId: c.userId });
    expect(c.kaleyra.state.value).toMatchObject({ status: "connected", tokenAttempt: 0, reconnectAttempt: 0 });
    expect(of(c.userId)).toHaveLength(3);
    await c.kaleyra.disconnect();
  });
});
