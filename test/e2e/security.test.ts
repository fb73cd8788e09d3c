/**
 * Tenant isolation and secrecy across the whole stack: apps cannot reach each other's sessions,
 * webhooks cannot be replayed, and no token or secret reaches a log line or an admin response.
 */
import { runDurableObjectAlarm, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, createRoom, createUser } from "../../dev/emulator/testing";
import { signWebhook } from "../../crypto/signature";
import { advance, sessionNow, ticketFor } from "../harness";
import { ADMIN, alice, answerWithMinted, attachVia, mintToken, registerApp, stubFor } from "./stack";

describe("tenant isolation", () => {
  it("a ticket of app A does not attach to app B's session of the same user id", async () => {
    const a = await registerApp();
    const b = await registerApp();
    const client = await attachVia(b.appId, alice, { prove: false });
    client.send({ type: "auth", ticket: await ticketFor(a.appId, "alice") });
    expect((await client.waitFor((c) => c.ofType("error")[0], "refusal")).code).toBe("auth_failed");
    expect(client.ofType("state")).toHaveLength(0);
  });

  it("a token minted for app A does not prove the user in app B", async () => {
    const a = await registerApp();
    await createUser(a, "alice");
    const token = await mintToken(a, "alice");
    const b = await registerApp();
    await createUser(b, "alice");
    const owner = await attachVia(b.appId, alice);
    owner.send({ type: "connect", userId: "alice" });
    await answerWithMinted(owner, b, "alice", 0);
    await owner.waitForStatus("connected");
    const intruder = await attachVia(b.appId, alice, { prove: false });
    intruder.send({ type: "auth", token });
    expect((await intruder.waitFor((c) => c.ofType("error")[0], "refusal")).code).toBe("auth_failed");
    expect(intruder.ofType("state")).toHaveLength(0);
  });

  it("an access link is good for its own call only: another link of another room is another session", async () => {
    const app = await registerApp();
    await createUser(app, "bob");
    const room1 = await createRoom(app, ["bob"]);
    const room2 = await createRoom(app, ["bob"]);
    const link1 = { kind: "access_link", accessLink: room1.participants[0]!.access_link } as const;
    const link2 = { kind: "access_link", accessLink: room2.participants[0]!.access_link } as const;
    const c1 = await attachVia(app.appId, link1);
    c1.send({ type: "connect", accessLink: link1.accessLink });
    await c1.waitForStatus("connected");
    // A socket routed to the second link's session cannot prove itself with the first link.
    const c2 = await attachVia(app.appId, link2, { prove: false });
    c2.send({ type: "connect", accessLink: link1.accessLink });
    expect(await c2.waitFor((c) => c.ofType("error")[0], "refusal")).toMatchObject({ code: "auth_failed", field: "accessLink" });
    expect(c2.ofType("state")).toHaveLength(0);
  });
});

describe("webhooks", () => {
  it("a replayed webhook (same signature again) is refused with webhook_replayed", async () => {
    const app = await registerApp({}, true);
    const body = JSON.stringify({ event: "on_call_started", app_id: app.appId, data: {}, created_at: new Date().toISOString() });
    const signature = await signWebhook(app.apiKey, body, Math.floor(Date.now() / 1000));
    const post = () => SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${app.appId}`, { method: "POST", headers: { "bandyer-signature": signature }, body });
    expect((await post()).status).toBe(200);
    const replay = await post();
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("webhook_replayed");
  });
});

describe("webhook replay and unknown apps", () => {
  it("the same signature spelled another way (spaces, order, repeated or extra parts) is still a replay", async () => {
    const app = await registerApp({}, true);
    const body = JSON.stringify({ event: "on_call_started", app_id: app.appId, data: {} });
    const t = Math.floor(Date.now() / 1000);
    const signature = await signWebhook(app.apiKey, body, t);
    const mac = signature.split("v0=")[1]!;
    const post = (header: string) => SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${app.appId}`, { method: "POST", headers: { "bandyer-signature": header }, body });
    expect((await post(signature)).status).toBe(200);
    for (const variant of [` t=${t} , v0=${mac} `, `v0=${mac},t=${t}`, `t=${t},v0=${mac},v0=${mac}`, `t=${t},v1=abc,v0=${mac}`]) {
      const replay = await post(variant);
      expect(replay.status).toBe(409);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("webhook_replayed");
    }
  });

  it("an unknown app gets exactly the answer of a bad signature, so the route reveals no app", async () => {
    const app = await registerApp({}, true);
    const body = JSON.stringify({ event: "on_call_started", app_id: app.appId, data: {} });
    const signature = await signWebhook("ak_test_not_the_key_0000", body, Math.floor(Date.now() / 1000));
    const post = (appId: string) => SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers: { "bandyer-signature": signature }, body });
    const [known, unknown, malformed] = await Promise.all([post(app.appId), post("mAppId_nobody_here"), post("not-an-app")]);
    const answers = await Promise.all([known, unknown, malformed].map(async (r) => [r.status, await r.text()]));
    expect(answers[0]![0]).toBe(401);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });
});

describe("attack: probing which apps exist through the webhook route", () => {
  afterEach(() => vi.restoreAllMocks());

  it("a stale, badly signed delivery gets the same answer (status, body, headers) for a registered app and an unknown one", async () => {
    const app = await registerApp({}, true);
    const body = JSON.stringify({ event: "on_call_started", app_id: app.appId, data: {} });
    const post = (appId: string) => SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers: { "bandyer-signature": `t=1,v0=${"0".repeat(64)}` }, body });
    const answer = async (r: Response) => ({ status: r.status, body: await r.text(), headers: [...r.headers] });
    const known = await answer(await post(app.appId));
    expect(known).toMatchObject({ status: 401 });
    expect(JSON.parse(known.body)).toMatchObject({ error: { code: "signature_invalid" } });
    expect(await answer(await post("mAppId_nobody_here_at_all"))).toEqual(known);
  });

  it("an unknown app's delivery costs the same HMAC work as a registered app's bad one", async () => {
    const app = await registerApp({}, true);
    const body = JSON.stringify({ event: "on_call_started", app_id: app.appId, data: {} });
    const header = `t=${Math.floor(Date.now() / 1000)},v0=${"0".repeat(64)}`;
    const verify = vi.spyOn(crypto.subtle, "verify");
    const work = async (appId: string) => {
      verify.mockClear();
      await SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers: { "bandyer-signature": header }, body });
      return verify.mock.calls.map(([algorithm]) => algorithm);
    };
    const known = await work(app.appId);
    expect(known).toEqual(["HMAC"]);
    expect(await work("mAppId_nobody_here_at_all")).toEqual(known);
  });
});

describe("no token or secret in logs or admin responses", () => {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")));
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("through connect, a failing server token source, webhooks and admin reads", async () => {
    // The tenant's token webhook is unreachable: its fetch fails as a refused connection would,
    // without a real connection (workerd reports a refused one as an uncaught exception).
    const realFetch = globalThis.fetch;
    const urlOf = (input: RequestInfo | URL) => (typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const fetched = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) =>
      urlOf(input).startsWith("http://127.0.0.1:9/") ? Promise.reject(new TypeError("Network connection lost.")) : realFetch(input, init),
    );
    const ticketSecret = "whsec_e2e_ticket_secret_0123456789";
    const webhookSecret = "whsec_e2e_webhook_secret_0123456789";
    const app = await registerApp(
      { serverTokens: { source: "webhook", order: "first", webhookUrl: "http://127.0.0.1:9/tokens" }, tokenWebhookSecret: webhookSecret, attachTicketSecret: ticketSecret },
      true,
    );
    await createUser(app, "alice");
    const client = await attachVia(app.appId, alice, { prove: false });
    client.send({ type: "auth", ticket: await ticketFor(app.appId, "alice", 300, ticketSecret) });
    await client.waitFor((c) => c.ofType("state").length > 0, "state");
    const tokens: string[] = [];
    client.send({ type: "connect", userId: "alice" });
    // Attempt 1 goes to the server source first (unreachable here: it fails and logs); attempt 2,
    // 1 s + jitter later, to the client.
    const stub = await stubFor(app.appId, alice);
    const waiting = await client.waitFor((c) => c.lastState()?.nextAttemptAt, "attempt 2 scheduled");
    await advance(stub, waiting - (await sessionNow(stub)));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const request = await client.nextTokenRequest(0);
    const token = await mintToken(app, "alice");
    tokens.push(token);
    client.send({ type: "token", requestId: request.requestId, token });
    await client.waitForStatus("connected");
    const read = await SELF.fetch(`http://edge.test/v1/apps/${app.appId}`, { headers: ADMIN });
    const readText = await read.text();
    const room = await createRoom(app, ["alice"]);
    await call("POST", `/v2/rooms/${room.room_id}/end`, { apiKey: app.apiKey });
    await call("PATCH", "/v2/users/alice", { apiKey: app.apiKey, body: { active: false } });

    const secrets = [app.apiKey, ticketSecret, webhookSecret, ...tokens, room.participants[0]!.access_link];
    for (const secret of secrets) {
      expect(readText).not.toContain(secret);
      for (const line of lines) expect(line).not.toContain(secret);
    }
    // The flow did log (the failing server token source): the check above looked at real lines.
    expect(lines.some((l) => l.includes("server token attempt failed"))).toBe(true);
    // It says whose attempt failed: the app and the user.
    expect(lines.find((l) => l.includes("server token attempt failed"))).toContain(`"appId":"${app.appId}","userId":"alice"`);
    expect(fetched.mock.calls.some(([input]) => urlOf(input) === "http://127.0.0.1:9/tokens")).toBe(true);
  });
});
