import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { checkTicket } from "../durable-objects/attach-proof";
import { fakeToken } from "../test/fake-remote";
import { hashTenantKey, TENANT_KEY_PATTERN } from "./tenant-keys";
import { appState } from "../durable-objects/stubs";

const ADMIN = { Authorization: "Bearer test-admin-token" };
const TICKET_SECRET = "tenant-test-ticket-secret-0123456789";
const API_KEY = "ak_test_tenant_secret_key_42";
const base = "https://edge.test";
const freshAppId = () => `mAppId_tenant_${crypto.randomUUID().slice(0, 8)}`;

async function createApp(settings: Record<string, unknown> = {}): Promise<string> {
  const appId = freshAppId();
  const body = { environment: "sandbox", region: "eu", attachModes: ["token", "resume", "ticket"], attachTicketSecret: TICKET_SECRET, kaleyraApiKey: API_KEY, ...settings };
  const res = await SELF.fetch(`${base}/v1/apps/${appId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return appId;
}

async function createKey(appId: string): Promise<{ id: string; key: string; keys: { id: string }[] }> {
  const res = await SELF.fetch(`${base}/v1/apps/${appId}/tenant-keys`, { method: "POST", headers: ADMIN });
  expect(res.status).toBe(201);
  return res.json();
}

const as = (key: string) => ({ Authorization: `Bearer ${key}` });
const tenantGet = (key: string, path: string) => SELF.fetch(`${base}/v1/tenant/apps/${path}`, { headers: as(key) });
const tenantPost = (key: string, path: string, body?: unknown) =>
  SELF.fetch(`${base}/v1/tenant/apps/${path}`, { method: "POST", headers: as(key), body: body === undefined ? undefined : JSON.stringify(body) });

async function expectError(res: Response, status: number, code: string, field?: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
  const details = code === "bad_request" ? { details: expect.arrayContaining([{ field, reason: expect.any(String) }]) } : {};
  expect(body.error).toEqual(field === undefined ? { code, message: expect.any(String) } : { code, message: expect.any(String), field, ...details });
}

/** A client of the user's real session object (routed by the Worker), proved with `ticket`. */
async function attachThroughWorker(appId: string, userId: string, ticket: string) {
  const res = await SELF.fetch(`${base}/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=${userId}`, { headers: { Upgrade: "websocket" } });
  const ws = res.webSocket!;
  const frames: { type: string; state?: { status: string } }[] = [];
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
  });
  ws.accept();
  const waitFor = async (what: string, pred: () => boolean) => {
    for (const until = Date.now() + 2_000; !pred(); ) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(frames)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await waitFor("auth_required", () => frames.some((f) => f.type === "auth_required"));
  ws.send(JSON.stringify({ type: "auth", ticket }));
  await waitFor("state", () => frames.some((f) => f.type === "state"));
  return { ws, frames, waitFor };
}

describe("tenant keys (admin API)", () => {
  it("shows a new key once, stores only its SHA-256, and lists ids without keys", async () => {
    const appId = await createApp();
    const created = await createKey(appId);
    expect(created.key).toMatch(TENANT_KEY_PATTERN);
    expect(created.keys).toEqual([{ id: created.id, createdAt: expect.any(Number) }]);
    const listed = await (await SELF.fetch(`${base}/v1/apps/${appId}/tenant-keys`, { headers: ADMIN })).text();
    expect(listed).not.toContain(created.key);
    expect(JSON.parse(listed)).toEqual({ keys: [{ id: created.id, createdAt: expect.any(Number) }] });
    expect(await (await SELF.fetch(`${base}/v1/apps/${appId}`, { headers: ADMIN })).text()).not.toContain(created.key);
    expect(await appState(env, appId).tenantKeyValid(await hashTenantKey(created.key))).toBe(true);
  });

  it("rotates: a third key revokes the oldest, and a revoked key stops working at once", async () => {
    const appId = await createApp();
    const first = await createKey(appId);
    const second = await createKey(appId);
    const third = await createKey(appId);
    expect(third.keys.map((k) => k.id)).toEqual([second.id, third.id]);
    await expectError(await tenantGet(first.key, appId), 401, "tenant_unauthorized");
    expect((await tenantGet(second.key, appId)).status).toBe(200);
    expect((await SELF.fetch(`${base}/v1/apps/${appId}/tenant-keys/${second.id}`, { method: "DELETE", headers: ADMIN })).status).toBe(204);
    await expectError(await tenantGet(second.key, appId), 401, "tenant_unauthorized");
    await expectError(await SELF.fetch(`${base}/v1/apps/${appId}/tenant-keys/${second.id}`, { method: "DELETE", headers: ADMIN }), 404, "tenant_key_unknown");
    expect((await tenantGet(third.key, appId)).status).toBe(200);
  });

  it("needs the admin token, and an existing app", async () => {
    await expectError(await SELF.fetch(`${base}/v1/apps/${freshAppId()}/tenant-keys`, { method: "POST" }), 401, "unauthorized");
    await expectError(await SELF.fetch(`${base}/v1/apps/${freshAppId()}/tenant-keys`, { method: "POST", headers: ADMIN }), 404, "app_id_invalid");
  });

  it("dies with its app: a key of a deleted app does not open the re-created app", async () => {
    const appId = await createApp();
    const { key } = await createKey(appId);
    expect((await SELF.fetch(`${base}/v1/apps/${appId}`, { method: "DELETE", headers: ADMIN })).status).toBe(204);
    await expectError(await tenantGet(key, appId), 401, "tenant_unauthorized");
    await SELF.fetch(`${base}/v1/apps/${appId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify({ environment: "sandbox", region: "eu" }) });
    await expectError(await tenantGet(key, appId), 401, "tenant_unauthorized");
  });
});

describe("tenant API", () => {
  it("reads the app's settings without any secret value", async () => {
    const appId = await createApp();
    const { key } = await createKey(appId);
    const res = await tenantGet(key, appId);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(TICKET_SECRET);
    expect(text).not.toContain(API_KEY);
    expect(JSON.parse(text)).toMatchObject({ appId, environment: "sandbox", region: "eu", secrets: { attachTicketSecret: true, kaleyraApiKey: true } });
  });

  it("mints tickets the session accepts: HS256 with the app's secret, for that app and user only", async () => {
    const appId = await createApp();
    const { key } = await createKey(appId);
    const res = await tenantPost(key, `${appId}/users/alice/tickets`, { ttlSeconds: 60 });
    expect(res.status).toBe(201);
    const { ticket, expiresAt } = (await res.json()) as { ticket: string; expiresAt: number };
    expect(expiresAt).toBeGreaterThan(Date.now() + 55_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(await checkTicket(TICKET_SECRET, ticket, appId, "alice", Date.now())).toEqual({ jti: expect.any(String), expMs: expiresAt });
    expect(await checkTicket(TICKET_SECRET, ticket, appId, "bob", Date.now())).toBeUndefined();
    expect(await checkTicket(TICKET_SECRET, ticket, "mAppId_other", "alice", Date.now())).toBeUndefined();
    // No body: the longest lifetime (5 minutes). Every ticket has its own jti: a session accepts each once.
    const defaults = await Promise.all([1, 2].map(async () => (await (await tenantPost(key, `${appId}/users/alice/tickets`)).json()) as { ticket: string; expiresAt: number }));
    expect(defaults[0]!.expiresAt).toBeLessThanOrEqual(Date.now() + 301_000);
    const jtis = await Promise.all([ticket, ...defaults.map((d) => d.ticket)].map(async (t) => (await checkTicket(TICKET_SECRET, t, appId, "alice", Date.now()))?.jti));
    expect(new Set(jtis).size).toBe(3);
    await expectError(await tenantPost(key, `${appId}/users/alice/tickets`, { ttlSeconds: 301 }), 400, "bad_request", "ttlSeconds");
    await expectError(await tenantPost(key, `${appId}/users/alice/tickets`, { ttl: 5 }), 400, "bad_request", "ttl");
    await expectError(await tenantPost(key, `${appId}/users/a%20b/tickets`), 400, "bad_request", "userId");
  });

  it("explains why it cannot mint: no ticket secret, or tickets not among the attach modes", async () => {
    const noSecret = await createApp({ attachModes: ["token"], attachTicketSecret: null });
    await expectError(await tenantPost((await createKey(noSecret)).key, `${noSecret}/users/alice/tickets`), 409, "ticket_secret_missing");
    const noMode = await createApp({ attachModes: ["token", "resume"] });
    await expectError(await tenantPost((await createKey(noMode)).key, `${noMode}/users/alice/tickets`), 409, "tickets_disabled");
  });

  it("reads a user's session, lists the app's sessions by status, and ends one with its data", async () => {
    const appId = await createApp();
    const { key } = await createKey(appId);
    const none = await (await tenantGet(key, `${appId}/users/alice/session`)).json();
    expect(none).toMatchObject({ view: { status: "disconnected" }, clients: 0 });

    const ticket = ((await (await tenantPost(key, `${appId}/users/alice/tickets`)).json()) as { ticket: string }).ticket;
    const client = await attachThroughWorker(appId, "alice", ticket);
    client.ws.send(JSON.stringify({ type: "connect", userId: "alice" }));
    await client.waitFor("token_request", () => client.frames.some((f) => f.type === "token_request"));
    const request = client.frames.find((f) => f.type === "token_request") as unknown as { requestId: string };
    client.ws.send(JSON.stringify({ type: "token", requestId: request.requestId, token: fakeToken("alice", Date.now() + 3_600_000) }));
    await client.waitFor("connected", () => client.frames.some((f) => f.state?.status === "connected"));

    expect(await (await tenantGet(key, `${appId}/users/alice/session`)).json()).toMatchObject({ view: { status: "connected", mode: "token", userId: "alice" }, clients: 1 });
    const listed = async (query: string) => {
      for (const until = Date.now() + 2_000; ; ) {
        const page = (await (await tenantGet(key, `${appId}/sessions${query}`)).json()) as { sessions: { userId?: string; status: string }[] };
        if (page.sessions.length > 0 || Date.now() > until) return page;
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    expect((await listed("?status=connected")).sessions).toEqual([{ status: "connected", kind: "token", userId: "alice", updatedAt: expect.any(Number) }]);
    expect((await (await tenantGet(key, `${appId}/sessions?status=reconnecting`)).json())).toEqual({ sessions: [] });
    await expectError(await tenantGet(key, `${appId}/sessions?status=sleeping`), 400, "bad_request", "status");

    const ended = await tenantPost(key, `${appId}/users/alice/session/end`, { clearSavedData: true });
    expect(ended.status).toBe(200);
    expect(((await ended.json()) as { view: { status: string } }).view.status).toMatch(/^disconnect/);
    await client.waitFor("data_cleared", () => client.frames.some((f) => f.type === "data_cleared"));
    expect((await (await tenantGet(key, `${appId}/sessions`)).json())).toEqual({ sessions: [] });
    client.ws.close();
  });

  it("pages through the sessions with a cursor", async () => {
    const appId = await createApp();
    const { key } = await createKey(appId);
    const state = appState(env, appId);
    const ids = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(64));
    for (const [i, id] of ids.entries()) {
      expect(await state.claimSession(id, 100)).toBe(true);
      await state.sessionStatus(id, i % 2 === 0 ? "connected" : "reconnecting", { kind: "token", userId: `u${i}` }, Date.now());
    }
    const first = (await (await tenantGet(key, `${appId}/sessions?limit=2`)).json()) as { sessions: { userId: string }[]; nextCursor: string };
    expect(first.sessions.map((s) => s.userId)).toEqual(["u0", "u1"]);
    const second = (await (await tenantGet(key, `${appId}/sessions?limit=2&cursor=${first.nextCursor}`)).json()) as { sessions: { userId: string }[]; nextCursor?: string };
    expect(second.sessions.map((s) => s.userId)).toEqual(["u2", "u3"]);
    const last = (await (await tenantGet(key, `${appId}/sessions?limit=2&cursor=${second.nextCursor}`)).json()) as { sessions: { userId: string }[]; nextCursor?: string };
    expect(last).toEqual({ sessions: [expect.objectContaining({ userId: "u4" })] });
    const connected = (await (await tenantGet(key, `${appId}/sessions?status=connected`)).json()) as { sessions: { userId: string }[] };
    expect(connected.sessions.map((s) => s.userId)).toEqual(["u0", "u2", "u4"]);
    await expectError(await tenantGet(key, `${appId}/sessions?limit=0`), 400, "bad_request", "limit");
    await expectError(await tenantGet(key, `${appId}/sessions?cursor=zz`), 400, "bad_request", "cursor");
  });
});

describe("cross-tenant attack", () => {
  it("tenant A's key opens nothing of app B: every tenant route answers 401 and B's user keeps its session", async () => {
    const appA = await createApp();
    const appB = await createApp();
    const keyA = (await createKey(appA)).key;
    const keyB = (await createKey(appB)).key;
    const ticketB = ((await (await tenantPost(keyB, `${appB}/users/victim/tickets`)).json()) as { ticket: string }).ticket;
    const victim = await attachThroughWorker(appB, "victim", ticketB);
    victim.ws.send(JSON.stringify({ type: "connect", userId: "victim" }));
    await victim.waitFor("connecting", () => victim.frames.some((f) => f.state?.status === "connecting"));

    const attempts = [
      tenantGet(keyA, appB),
      tenantGet(keyA, `${appB}/sessions`),
      tenantGet(keyA, `${appB}/users/victim/session`),
      tenantPost(keyA, `${appB}/users/victim/session/end`, { clearSavedData: true }),
      tenantPost(keyA, `${appB}/users/victim/tickets`),
    ];
    for (const res of await Promise.all(attempts)) await expectError(res, 401, "tenant_unauthorized");
    // No key, another scheme, a malformed appId.
    await expectError(await SELF.fetch(`${base}/v1/tenant/apps/${appB}`), 401, "tenant_unauthorized");
    await expectError(await SELF.fetch(`${base}/v1/tenant/apps/${appB}`, { headers: { Authorization: `Basic ${keyA}` } }), 401, "tenant_unauthorized");
    await expectError(await tenantGet(keyA, "not-an-app"), 401, "tenant_unauthorized");
    // Nor does the admin token work as a tenant key, or a tenant key as the admin token.
    await expectError(await SELF.fetch(`${base}/v1/tenant/apps/${appB}`, { headers: ADMIN }), 401, "tenant_unauthorized");
    await expectError(await SELF.fetch(`${base}/v1/apps/${appB}`, { headers: as(keyB) }), 401, "unauthorized");

    // A's view of "victim" is its own user's (no session), not B's.
    expect(await (await tenantGet(keyA, `${appA}/users/victim/session`)).json()).toMatchObject({ view: { status: "disconnected" }, clients: 0 });
    expect(victim.frames.some((f) => f.type === "data_cleared")).toBe(false);
    expect(await (await tenantGet(keyB, `${appB}/users/victim/session`)).json()).toMatchObject({ view: { status: "connecting" }, clients: 1 });
    victim.ws.close();
  });
});
