import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "../core/policy";
import { MAX_ADMIN_BODY_BYTES } from "./admin";
import { app } from "./app";
import { appState } from "../durable-objects/stubs";

const TOKEN = "test-admin-token";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const freshAppId = () => `mAppId_admin_${crypto.randomUUID().slice(0, 8)}`;
const url = (appId: string) => `https://edge.test/v1/apps/${appId}`;

function put(appId: string, body: unknown, headers: Record<string, string> = AUTH) {
  return SELF.fetch(url(appId), { method: "PUT", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}
const get = (appId: string, headers: Record<string, string> = AUTH) => SELF.fetch(url(appId), { headers });
const del = (appId: string, headers: Record<string, string> = AUTH) => SELF.fetch(url(appId), { method: "DELETE", headers });

async function expectError(res: Response, status: number, code: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.field).toBe(field);
}

describe("admin auth", () => {
  it("answers 503 admin_disabled when no ADMIN_TOKEN is bound, even to a request carrying a token", async () => {
    for (const ADMIN_TOKEN of [undefined, ""]) {
      const res = await app.fetch(new Request(url(freshAppId()), { headers: { Authorization: "Bearer " } }), { ...env, ADMIN_TOKEN });
      await expectError(res, 503, "admin_disabled");
    }
  });

  it.each([
    ["no Authorization header", {}],
    ["a wrong token", { Authorization: "Bearer wrong-token" }],
    ["a prefix of the token", { Authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ["the token plus a suffix", { Authorization: `Bearer ${TOKEN}x` }],
    ["another scheme", { Authorization: `Basic ${TOKEN}` }],
    ["the bare token", { Authorization: TOKEN }],
  ])("answers 401 unauthorized to %s, on every admin route", async (_name, headers) => {
    const appId = freshAppId();
    await expectError(await get(appId, headers), 401, "unauthorized");
    await expectError(await put(appId, { environment: "sandbox", region: "eu" }, headers), 401, "unauthorized");
    await expectError(await del(appId, headers), 401, "unauthorized");
    expect((await get(appId)).status).toBe(404);
  });

  it("names the Bearer scheme in WWW-Authenticate on 401", async () => {
    const res = await get(freshAppId(), {});
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
  });

  it("accepts the scheme in any case", async () => {
    const res = await get(freshAppId(), { Authorization: `bearer ${TOKEN}` });
    await expectError(res, 404, "app_id_invalid");
  });

  it("checks the token before the appId, so strangers learn nothing about ids", async () => {
    await expectError(await get("bad-id", {}), 401, "unauthorized");
  });
});

describe("PUT /v1/apps/:appId", () => {
  it("creates an app with 201 and the stored record, then updates it with 200 keeping createdAt", async () => {
    const appId = freshAppId();
    const created = await put(appId, { environment: "sandbox", region: "eu" });
    expect(created.status).toBe(201);
    const first = (await created.json()) as Record<string, unknown>;
    expect(first).toEqual({ appId, environment: "sandbox", region: "eu", secrets: { kaleyraApiKey: false, tokenWebhookSecret: false, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: true }, vapidPublicKey: expect.stringMatching(/^B[\w-]{86}$/), epoch: expect.any(String), createdAt: expect.any(Number), updatedAt: expect.any(Number) });

    const updated = await put(appId, { environment: "production", region: "in", retryPolicy: { jitterMaxMs: 0 } });
    expect(updated.status).toBe(200);
    const second = (await updated.json()) as Record<string, unknown>;
    expect(second).toMatchObject({ appId, environment: "production", region: "in", createdAt: first.createdAt });
    expect(second.retryPolicy).toEqual({ ...DEFAULT_RETRY_POLICY, jitterMaxMs: 0 });
    expect(await (await get(appId)).json()).toEqual(second);
  });

  it("refuses a malformed appId with 400 bad_request on field appId", async () => {
    for (const appId of ["app1", "mAppId_", "mAppId_a%20b", `mAppId_${"x".repeat(65)}`]) {
      await expectError(await put(appId, { environment: "sandbox", region: "eu" }), 400, "bad_request", "appId");
    }
    await expectError(await get("app1"), 400, "bad_request", "appId");
    await expectError(await del("app1"), 400, "bad_request", "appId");
  });

  it.each([
    ["malformed JSON", "{not json", "body"],
    ["an empty body", "", "body"],
    ["a JSON array", [], "body"],
    ["an unknown environment", { environment: "staging", region: "eu" }, "environment"],
    ["an unknown region", { environment: "sandbox", region: "asia" }, "region"],
    ["a missing region", { environment: "sandbox" }, "region"],
    ["an unknown key", { environment: "sandbox", region: "eu", tier: "gold" }, "tier"],
    ["a bad retry policy", { environment: "sandbox", region: "eu", retryPolicy: { jitterMaxMs: -1 } }, "retryPolicy.jitterMaxMs"],
  ])("refuses %s with 400 bad_request and leaves the stored app as it was", async (_name, body, field) => {
    const appId = freshAppId();
    await put(appId, { environment: "production", region: "us" });
    const before = await (await get(appId)).json();
    await expectError(await put(appId, body), 400, "bad_request", field);
    expect(await (await get(appId)).json()).toEqual(before);
  });

  it("does not create an app from a refused body", async () => {
    const appId = freshAppId();
    await expectError(await put(appId, "{not json"), 400, "bad_request", "body");
    await expectError(await get(appId), 404, "app_id_invalid");
  });

  it("accepts a body of exactly 64 KiB and refuses one byte more with 413 bad_request", async () => {
    const json = JSON.stringify({ environment: "sandbox", region: "eu" });
    const appId = freshAppId();
    const atLimit = json + " ".repeat(MAX_ADMIN_BODY_BYTES - json.length);
    expect((await put(appId, atLimit)).status).toBe(201);
    const before = await (await get(appId)).json();
    const other = JSON.stringify({ environment: "production", region: "us" });
    const overLimit = other + " ".repeat(MAX_ADMIN_BODY_BYTES + 1 - other.length);
    await expectError(await put(appId, overLimit), 413, "bad_request", "body");
    expect(await (await get(appId)).json()).toEqual(before);
  });

  it("refuses an oversized body that comes without Content-Length (streamed)", async () => {
    const appId = freshAppId();
    // One byte over, in one chunk, then closed: the Worker has read all of it when it refuses, so
    // the test's end of the pipe is not cut off mid-write (which workerd logs to stderr as
    // "kj/async-io ... read end of pipe was aborted", noise in a green run).
    const json = JSON.stringify({ environment: "sandbox", region: "eu" });
    const bytes = new TextEncoder().encode(json + " ".repeat(MAX_ADMIN_BODY_BYTES + 1 - json.length));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    const res = await SELF.fetch(url(appId), { method: "PUT", headers: AUTH, body });
    await expectError(res, 413, "bad_request", "body");
    await expectError(await get(appId), 404, "app_id_invalid");
  });
});

describe("GET and DELETE /v1/apps/:appId", () => {
  it("answers 404 app_id_invalid for an app that was never registered", async () => {
    await expectError(await get(freshAppId()), 404, "app_id_invalid");
  });

  it("deletes with 204 and no body; the app is gone and a second delete answers 404 app_id_invalid", async () => {
    const appId = freshAppId();
    await put(appId, { environment: "sandbox", region: "eu" });
    const res = await del(appId);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await expectError(await get(appId), 404, "app_id_invalid");
    await expectError(await del(appId), 404, "app_id_invalid");
  });
});

describe("write-only secrets", () => {
  const API_KEY = "ak_test_secret_value_123";
  const WEBHOOK_SECRET = "whsec_0123456789abcdef";

  it("accepts the API key and webhook secret, and no response ever contains them", async () => {
    const appId = freshAppId();
    const body = {
      environment: "sandbox",
      region: "eu",
      serverTokens: { source: "webhook", order: "fallback", webhookUrl: "https://tenant.example.com/tokens" },
      kaleyraApiKey: API_KEY,
      tokenWebhookSecret: WEBHOOK_SECRET,
    };
    const created = await put(appId, body);
    expect(created.status).toBe(201);
    const texts = [await created.text(), await (await get(appId)).text()];
    const stored = await appState(env, appId).getAppSecrets();
    expect(stored).toEqual({ kaleyraApiKey: API_KEY, tokenWebhookSecret: WEBHOOK_SECRET, vapidKeys: { publicKey: expect.any(String), privateKey: expect.any(String) } });
    for (const text of texts) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(WEBHOOK_SECRET);
      // The VAPID pair drawn at registration: its public half is shown, its private half never.
      expect(text).not.toContain(stored!.vapidKeys!.privateKey);
      expect(JSON.parse(text).vapidPublicKey).toBe(stored!.vapidKeys!.publicKey);
      expect(JSON.parse(text).secrets).toEqual({ kaleyraApiKey: true, tokenWebhookSecret: true, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: true });
    }
  });

  it("keeps a stored secret when a PUT omits it, and deletes it on null", async () => {
    const appId = freshAppId();
    await put(appId, { environment: "sandbox", region: "eu", kaleyraApiKey: API_KEY });
    const kept = (await (await put(appId, { environment: "sandbox", region: "us" })).json()) as { secrets: unknown };
    expect(kept.secrets).toEqual({ kaleyraApiKey: true, tokenWebhookSecret: false, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: true });
    const removed = (await (await put(appId, { environment: "sandbox", region: "us", kaleyraApiKey: null })).json()) as { secrets: unknown };
    expect(removed.secrets).toEqual({ kaleyraApiKey: false, tokenWebhookSecret: false, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: true });
  });

  it("refuses a server token source whose secret the app does not have, changing nothing", async () => {
    const appId = freshAppId();
    await put(appId, { environment: "sandbox", region: "eu" });
    const before = await (await get(appId)).json();
    await expectError(await put(appId, { environment: "sandbox", region: "eu", serverTokens: { source: "kaleyra_api", order: "first" } }), 400, "bad_request", "kaleyraApiKey");
    await expectError(await put(appId, { environment: "sandbox", region: "eu", kaleyraApiKey: "not-a-key" }), 400, "bad_request", "kaleyraApiKey");
    await expectError(await put(appId, { environment: "sandbox", region: "eu", serverTokens: { source: "webhook", order: "first", webhookUrl: "http://tenant.example.com/t" } }), 400, "bad_request", "serverTokens.webhookUrl");
    expect(await (await get(appId)).json()).toEqual(before);
  });

  it.each(["http://127.0.0.1:8787/emulator/control/reset", "https://localhost/t", "https://169.254.169.254/latest/meta-data", "https://192.168.0.10/t", "https://[::1]/t"])(
    "refuses a token webhook at %s (server-side request forgery) outside the local composition",
    async (webhookUrl) => {
      const appId = freshAppId();
      const body = { environment: "sandbox", region: "eu", serverTokens: { source: "webhook", order: "first", webhookUrl }, tokenWebhookSecret: "whsec_0123456789abcdef" };
      await expectError(await put(appId, body), 400, "bad_request", "serverTokens.webhookUrl");
      expect((await get(appId)).status).toBe(404);
    },
  );
});

describe("GET /v1/apps", () => {
  it("lists the registered apps in appId order, a page at a time, and not the removed ones", async () => {
    const ids = [freshAppId(), freshAppId()].sort();
    for (const id of ids) expect((await put(id, { environment: "sandbox", region: "eu" })).status).toBe(201);
    const seen: string[] = [];
    let cursor = "";
    for (let page = 0; page < 500; page++) {
      const res = await SELF.fetch(`https://edge.test/v1/apps?limit=3${cursor ? `&cursor=${cursor}` : ""}`, { headers: AUTH });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { apps: { appId: string; createdAt: number }[]; nextCursor?: string };
      expect(body.apps.length).toBeLessThanOrEqual(3);
      seen.push(...body.apps.map((a) => a.appId));
      if (body.nextCursor === undefined) break;
      cursor = body.nextCursor;
    }
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(seen).toEqual([...seen].sort());
    await del(ids[0]!);
    const after = (await (await SELF.fetch("https://edge.test/v1/apps?limit=100&cursor=" + ids[0]!.slice(0, -1), { headers: AUTH })).json()) as { apps: { appId: string }[] };
    expect(after.apps.map((a) => a.appId)).not.toContain(ids[0]);
    expect(after.apps.map((a) => a.appId)).toContain(ids[1]);
  });

  it("needs the admin token and refuses a bad limit with the field", async () => {
    await expectError(await SELF.fetch("https://edge.test/v1/apps"), 401, "unauthorized");
    await expectError(await SELF.fetch("https://edge.test/v1/apps?limit=0", { headers: AUTH }), 400, "bad_request", "limit");
  });
});
