/**
 * Who may reach a session, and the limits that close only the offending socket (issue: multi-
 * tenant security). Sessions are reached directly as the Worker routes them (test/harness.ts).
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { app as worker } from "../worker/app";
import { apps } from "../durable-objects/apps";
import { userSession } from "../durable-objects/stubs";
import {
  advance,
  APP_ID,
  attach,
  openSocket,
  SANDBOX_EU,
  sessionNow,
  sessionStub,
  snapshot,
  storageOf,
  ticketFor,
  type TestClient,
} from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const HOUR = 3_600_000;

afterEach(() => fakeRemoteControls.reset());

async function connect(stub: Awaited<ReturnType<typeof sessionStub>>, client: TestClient, userId = "alice") {
  client.send({ type: "connect", userId });
  const request = await client.nextTokenRequest();
  client.send({ type: "token", requestId: request.requestId, token: fakeToken(userId, (await sessionNow(stub)) + HOUR) });
  await client.waitForStatus("connected");
}

const resumeOf = (c: TestClient) => c.waitFor((x) => x.ofType("resume").at(-1)?.credential, "a resume credential");
const refusal = (c: TestClient) => c.waitFor((x) => x.ofType("error")[0], "an error frame");

describe("an unproven socket learns nothing and changes nothing", () => {
  it("gets only auth_required: no state, no token request, no broadcast", async () => {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    await connect(stub, owner);
    const stranger = await openSocket(stub, alice);
    expect(stranger.frames).toEqual([{ type: "auth_required", modes: ["token", "resume", "ticket"] }]);
    await stub.remoteTokenExpired(); // a refresh: a broadcast and a token request to the owner
    await owner.nextTokenRequest(1);
    expect(stranger.frames).toHaveLength(1);
  });

  it("cannot disconnect the session or answer its requests", async () => {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    await connect(stub, owner);
    const before = await snapshot(stub);
    const stranger = await openSocket(stub, alice);
    stranger.send({ type: "disconnect", clearSavedData: true });
    expect((await refusal(stranger)).code).toBe("auth_required");
    expect(await snapshot(stub)).toEqual(before);
  });
});

describe("user X cannot attach to user Y's session", () => {
  it("a ticket for another user is refused", async () => {
    const stub = await sessionStub(alice);
    const c = await openSocket(stub, alice);
    c.send({ type: "auth", ticket: await ticketFor(APP_ID, "mallory") });
    expect((await refusal(c)).code).toBe("auth_failed");
    expect(c.ofType("state")).toHaveLength(0);
  });

  it("a token of another user does not prove the user of a running session", async () => {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    await connect(stub, owner);
    const mallory = await openSocket(stub, alice);
    mallory.send({ type: "auth", token: fakeToken("mallory", (await sessionNow(stub)) + HOUR) });
    expect(await refusal(mallory)).toMatchObject({ code: "auth_failed", field: "token" });
    expect(mallory.ofType("state")).toHaveLength(0);
    expect(mallory.ofType("resume")).toHaveLength(0);
  });

  it("a token of the user proves a newcomer to a running session: state and a resume credential", async () => {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    await connect(stub, owner);
    const device = await openSocket(stub, alice);
    device.send({ type: "auth", token: fakeToken("alice", (await sessionNow(stub)) + HOUR) });
    expect(await device.waitForStatus("connected")).toMatchObject({ userId: "alice" });
    await resumeOf(device);
    expect(device.ofType("token_request")).toHaveLength(0);
  });
});

describe("resume credentials", () => {
  it("re-attach the same session without a token", async () => {
    const stub = await sessionStub(alice);
    const first = await attach(stub, alice);
    await connect(stub, first);
    const credential = await resumeOf(first);
    const reloaded = await openSocket(stub, alice);
    reloaded.send({ type: "auth", resume: credential });
    expect(await reloaded.waitForStatus("connected")).toMatchObject({ userId: "alice" });
    expect(reloaded.ofType("token_request")).toHaveLength(0);
  });

  it("fail on another session of the same user and app", async () => {
    const a = await sessionStub(alice);
    const b = await sessionStub(alice); // another object: another session
    const first = await attach(a, alice);
    await connect(a, first);
    const credential = await resumeOf(first);
    const elsewhere = await openSocket(b, alice);
    elsewhere.send({ type: "auth", resume: credential });
    expect((await refusal(elsewhere)).code).toBe("auth_failed");
  });

  it("fail after they expire (10 minutes)", async () => {
    const stub = await sessionStub(alice);
    const first = await attach(stub, alice);
    await connect(stub, first);
    const credential = await resumeOf(first);
    await advance(stub, 10 * 60_000 + 1);
    const late = await openSocket(stub, alice);
    late.send({ type: "auth", resume: credential });
    expect((await refusal(late)).code).toBe("auth_failed");
  });

  it("fail after disconnect(clearSavedData: true)", async () => {
    const stub = await sessionStub(alice);
    const first = await attach(stub, alice);
    await connect(stub, first);
    const credential = await resumeOf(first);
    first.send({ type: "disconnect", clearSavedData: true });
    await first.waitFor((c) => c.ofType("data_cleared").length === 1, "data_cleared");
    const again = await openSocket(stub, alice);
    again.send({ type: "auth", resume: credential });
    expect((await refusal(again)).code).toBe("auth_failed");
    // Only the memory of the ticket the first client proved with stays, until that ticket expires.
    expect((await storageOf(stub)).keys).toEqual(["usedTickets"]);
  });

  it("a tampered credential fails", async () => {
    const stub = await sessionStub(alice);
    const first = await attach(stub, alice);
    await connect(stub, first);
    const [payload, mac] = (await resumeOf(first)).split(".");
    const forged = `${btoa(JSON.stringify({ a: APP_ID, u: "alice", exp: Date.now() + 10 * HOUR })).replace(/=+$/, "")}.${mac}`;
    const c = await openSocket(stub, alice);
    c.send({ type: "auth", resume: forged });
    expect((await refusal(c)).code).toBe("auth_failed");
    expect(payload).not.toBe(forged.split(".")[0]);
  });
});

describe("limits close only the offending socket", () => {
  it("frames per second: the 21st frame in a second closes that socket with rate_limited", async () => {
    const stub = await sessionStub(alice);
    const noisy = await attach(stub, alice);
    const quiet = await attach(stub, alice);
    for (let i = 0; i < 25; i++) noisy.send({ type: "auth", ticket: "x" });
    expect((await noisy.waitFor((c) => c.ofType("error").find((e) => e.code === "rate_limited"), "rate_limited")).code).toBe("rate_limited");
    await noisy.waitFor((c) => c.closed, "close");
    expect(quiet.closed).toBe(false);
  });

  it("unproven sockets: the 9th waiting closes the oldest (auth_required, 4401), so strangers cannot fill a session", async () => {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    const strangers: TestClient[] = [];
    for (let i = 0; i < 8; i++) strangers.push(await openSocket(stub, alice));
    expect(strangers.some((s) => s.closed)).toBe(false);
    let closeCode = 0;
    strangers[0]!.ws.addEventListener("close", (e) => {
      closeCode = e.code;
    });
    strangers.push(await openSocket(stub, alice));
    await strangers[0]!.waitFor((c) => c.closed, "the oldest stranger closed");
    expect(closeCode).toBe(4401);
    expect(strangers.slice(1).some((s) => s.closed)).toBe(false);
    expect(owner.closed).toBe(false);
  });

  it("sockets per session: the 33rd socket is refused with too_many_sockets", async () => {
    const stub = await sessionStub(alice);
    const sockets: TestClient[] = [];
    for (let i = 0; i < 32; i++) sockets.push(await attach(stub, alice));
    const extra = await openSocket(stub, alice).catch((e: Error) => e);
    const refused = extra instanceof Error ? undefined : extra;
    expect(refused?.ofType("error")[0]?.code).toBe("too_many_sockets");
    expect(sockets.every((s) => !s.closed)).toBe(true);
  });

  it("sessions per app: a connect over the app's limit is refused with too_many_sessions", async () => {
    const limited = { ...SANDBOX_EU, maxSessions: 1 };
    // Sessions of earlier tests in this file hold slots of the same app: start from none.
    await apps(env).takeAppSessions(APP_ID);
    const first = await sessionStub(alice);
    const a = await attach(first, alice, limited);
    await connect(first, a);
    const bobKey = { kind: "token", userId: "bob" } as const;
    const second = await sessionStub(bobKey);
    const b = await attach(second, bobKey, limited);
    b.send({ type: "connect", userId: "bob" });
    expect((await refusal(b)).code).toBe("too_many_sessions");
    expect((await snapshot(second)).status).toBe("disconnected");
    // The slot comes back when the first session ends (released right after its state goes out).
    a.send({ type: "disconnect" });
    await a.waitForStatus("disconnected");
    for (let i = 0; i < 50 && b.ofType("token_request").length === 0; i++) {
      b.send({ type: "connect", userId: "bob" });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await b.nextTokenRequest()).userId).toBe("bob");
  });
});

describe("the Worker's own checks", () => {
  const register = (appId: string, body: object) =>
    SELF.fetch(`http://edge.test/v1/apps/${appId}`, { method: "PUT", headers: { Authorization: "Bearer test-admin-token" }, body: JSON.stringify(body) });

  async function firstFrame(res: Response): Promise<{ code?: string; type: string; closeCode?: number }> {
    const ws = res.webSocket!;
    const frame = new Promise<{ type: string; code?: string }>((resolve) => ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string))));
    ws.accept();
    return frame;
  }

  it("a browser origin the app did not allow is refused with origin_not_allowed; an allowed one attaches", async () => {
    const appId = `mAppId_origin_${crypto.randomUUID().slice(0, 8)}`;
    await register(appId, { environment: "sandbox", region: "eu", allowedOrigins: ["https://app.example.com"] });
    const url = `http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=alice`;
    const evil = await SELF.fetch(url, { headers: { Upgrade: "websocket", Origin: "https://evil.example" } });
    expect(await firstFrame(evil)).toMatchObject({ type: "error", code: "origin_not_allowed" });
    const good = await SELF.fetch(url, { headers: { Upgrade: "websocket", Origin: "https://app.example.com" } });
    expect(await firstFrame(good)).toMatchObject({ type: "auth_required" });
  });

  it("attach attempts per IP per minute: over the limit is refused with rate_limited", async () => {
    const appId = `mAppId_ip_${crypto.randomUUID().slice(0, 8)}`;
    await register(appId, { environment: "sandbox", region: "eu" });
    const limited = { ...env, ATTACH_LIMIT_PER_MINUTE: "3" };
    const attempt = () =>
      worker.fetch(
        new Request(`http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=ip-user`, {
          headers: { Upgrade: "websocket", "CF-Connecting-IP": "203.0.113.7" },
        }),
        limited,
      );
    const frames = [];
    for (let i = 0; i < 3; i++) frames.push(await firstFrame(await attempt()));
    expect(frames.every((f) => f.type === "auth_required")).toBe(true);
    // Over the limit: a plain 429, no socket (a refusal socket could be kept open by a flood).
    const over = await attempt();
    expect(over.webSocket).toBeNull();
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { code: "rate_limited" } });
  });

  it("attack: rotating addresses inside one IPv6 /64 counts as one client", async () => {
    const appId = `mAppId_ip6_${crypto.randomUUID().slice(0, 8)}`;
    await register(appId, { environment: "sandbox", region: "eu" });
    const limited = { ...env, ATTACH_LIMIT_PER_MINUTE: "3" };
    const net = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
    const frames = [];
    for (let i = 1; i <= 4; i++) {
      const res = await worker.fetch(
        new Request(`http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=ip-user`, { headers: { Upgrade: "websocket", "CF-Connecting-IP": `${net}::${i}` } }),
        limited,
      );
      frames.push(res.webSocket ? await firstFrame(res) : { type: "http", status: res.status, ...((await res.json()) as { error: object }).error });
    }
    expect(frames.slice(0, 3).every((f) => f.type === "auth_required")).toBe(true);
    expect(frames[3]).toMatchObject({ status: 429, code: "rate_limited" });
  });

  it("where Cloudflare's Rate Limiting binding is bound, its refusal refuses the attach; its failure does not", async () => {
    const appId = `mAppId_rl_${crypto.randomUUID().slice(0, 8)}`;
    await register(appId, { environment: "sandbox", region: "eu" });
    const keys: string[] = [];
    const refusing = { ...env, ATTACH_RATE_LIMIT: { limit: async ({ key }: { key: string }) => (keys.push(key), { success: false }) } };
    const failing = { ...env, ATTACH_RATE_LIMIT: { limit: async () => Promise.reject(new Error("binding down")) } };
    const attempt = (e: typeof env) =>
      worker.fetch(new Request(`http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=rl-user`, { headers: { Upgrade: "websocket", "CF-Connecting-IP": "2001:db8:99:1::5" } }), e);
    const refused = await attempt(refusing);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(keys).toEqual(["2001:db8:99:1::/64"]);
    expect(await firstFrame(await attempt(failing))).toMatchObject({ type: "auth_required" });
  });

  it("removing an app ends its sessions and deletes their data", async () => {
    const appId = `mAppId_gone_${crypto.randomUUID().slice(0, 8)}`;
    await register(appId, { environment: "sandbox", region: "eu", attachModes: ["token"] });
    const res = await SELF.fetch(`http://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=alice`, { headers: { Upgrade: "websocket" } });
    const ws = res.webSocket!;
    const frames: { type: string; requestId?: string; state?: { status: string } }[] = [];
    let closeCode = 0;
    ws.addEventListener("message", (e) => void frames.push(JSON.parse(e.data as string)));
    ws.addEventListener("close", (e) => {
      closeCode = e.code;
    });
    ws.accept();
    // No session runs: the token proves alice and connects her session in one step.
    ws.send(JSON.stringify({ type: "auth", token: fakeToken("alice", Date.now() + HOUR) }));
    const until = Date.now() + 2_000;
    while (!frames.some((f) => f.state?.status === "connected") && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
    expect(frames.some((f) => f.state?.status === "connected")).toBe(true);

    const del = await SELF.fetch(`http://edge.test/v1/apps/${appId}`, { method: "DELETE", headers: { Authorization: "Bearer test-admin-token" } });
    expect(del.status).toBe(204);
    while (closeCode === 0 && Date.now() < until + 2_000) await new Promise((r) => setTimeout(r, 2));
    expect(closeCode).toBe(4404);
    // The client was told its saved data is gone before the socket closed.
    expect(frames.map((f) => f.type)).toContain("data_cleared");
    const stub = userSession(env, appId, alice);
    const cleared = Date.now() + 2_000;
    while ((await storageOf(stub)).keys.length > 0 && Date.now() < cleared) await new Promise((r) => setTimeout(r, 5));
    expect(await storageOf(stub)).toEqual({ alarmAt: undefined, keys: [] });
  });
});

