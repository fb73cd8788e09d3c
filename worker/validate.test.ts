import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ErrorDetail } from "../core/errors";
import { MAX_TICKET_LIFETIME_SEC } from "../core/ticket";
import { parseSocketRequest } from "./socket";

const ADMIN = { Authorization: "Bearer test-admin-token" };
const freshAppId = () => `mAppId_why_${crypto.randomUUID().slice(0, 8)}`;
type ErrorBody = { error: { code: string; message: string; field?: string; details?: ErrorDetail[] } };

const put = (appId: string, body: string) => SELF.fetch(`https://edge.test/v1/apps/${appId}`, { method: "PUT", headers: ADMIN, body });

async function refusal(res: Response, status = 400): Promise<ErrorBody["error"]> {
  expect(res.status).toBe(status);
  const { error } = (await res.json()) as ErrorBody;
  expect(error.code).toBe("bad_request");
  // field is the first detail's, so a client keyed on field keeps working.
  expect(error.field).toBe(error.details?.[0]?.field);
  return error;
}

describe("a refused admin or tenant request says what is wrong, in message and details", () => {
  it("a body that is not JSON: says so, with the position, not 'field: body' alone", async () => {
    const error = await refusal(await put(freshAppId(), '{"environment":"sandbox",'));
    expect(error.message).toBe("The request is invalid: body is not valid JSON (at position 25).");
    expect(error.details).toEqual([{ field: "body", reason: "is not valid JSON (at position 25)" }]);
    expect((await refusal(await put(freshAppId(), ""))).message).toBe("The request is invalid: body is empty: send a JSON object.");
  });

  it("a typo'd key: named first as an unknown key with the likely right one, then what is missing", async () => {
    const error = await refusal(await put(freshAppId(), JSON.stringify({ enviroment: "sandbox", region: "eu" })));
    expect(error.field).toBe("enviroment");
    expect(error.details).toEqual([
      { field: "enviroment", reason: "is not a known key; did you mean environment?" },
      { field: "environment", reason: "is required: one of production, sandbox" },
    ]);
    expect(error.message).toBe("The request is invalid: enviroment is not a known key; did you mean environment?; environment is required: one of production, sandbox.");
  });

  it("an enum lists what is allowed, a range states both ends", async () => {
    const error = await refusal(await put(freshAppId(), JSON.stringify({ environment: "sandbox", region: "europe", retryPolicy: { jitterMaxMs: -1 } })));
    expect(error.details).toEqual([
      { field: "region", reason: "must be one of eu, in, us, me" },
      { field: "retryPolicy.jitterMaxMs", reason: "must be an integer from 0 to 86400000" },
    ]);
    const query = await refusal(await SELF.fetch("https://edge.test/v1/apps?limit=0", { headers: ADMIN }));
    expect(query.message).toBe("The request is invalid: limit must be an integer from 1 to 100.");
    const path = await refusal(await SELF.fetch("https://edge.test/v1/apps/app1", { headers: ADMIN }));
    expect(path.details).toEqual([{ field: "appId", reason: "must look like mAppId_xxx: mAppId_ then 1..64 of A-Z a-z 0-9 _ -" }]);
  });

  it("a missing secret names the setting that needs it", async () => {
    const body = { environment: "sandbox", region: "eu", serverTokens: { source: "kaleyra_api", order: "first" } };
    const error = await refusal(await put(freshAppId(), JSON.stringify(body)));
    expect(error.details).toEqual([{ field: "kaleyraApiKey", reason: "is required by serverTokens.source kaleyra_api (Kaleyra's credentials call uses it)" }]);
  });

  it("many mistakes: the message spells out three, details holds all; a refused secret is never echoed", async () => {
    const secret = "not a key but a secret";
    const body = { environment: "x", region: "y", maxSessions: 0, attachModes: [], kaleyraApiKey: secret, tokenWebhookSecret: "short" };
    const error = await refusal(await put(freshAppId(), JSON.stringify(body)));
    expect(error.details?.map((d) => d.field)).toEqual(["environment", "region", "attachModes", "maxSessions", "kaleyraApiKey", "tokenWebhookSecret"]);
    expect(error.message).toMatch(/^The request is invalid: environment must be one of production, sandbox; region must be one of eu, in, us, me; attachModes must be a list of 1\.\.3 items; and 3 more in details\.$/);
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it("a body over the limit says the limit (413)", async () => {
    const error = await refusal(await put(freshAppId(), JSON.stringify({ environment: "sandbox", region: "eu", pad: "x".repeat(64 * 1024) })), 413);
    expect(error.details).toEqual([{ field: "body", reason: "must be at most 64 KiB" }]);
  });

  it("the tenant API answers the same way (ttlSeconds, status)", async () => {
    const appId = freshAppId();
    await put(appId, JSON.stringify({ environment: "sandbox", region: "eu" }));
    const created = await SELF.fetch(`https://edge.test/v1/apps/${appId}/tenant-keys`, { method: "POST", headers: ADMIN });
    const { key } = (await created.json()) as { key: string };
    const tenant = { Authorization: `Bearer ${key}` };
    const ticket = await SELF.fetch(`https://edge.test/v1/tenant/apps/${appId}/users/alice/tickets`, { method: "POST", headers: tenant, body: '{"ttlSeconds":7200}' });
    expect((await refusal(ticket)).message).toBe(`The request is invalid: ttlSeconds must be an integer from 1 to ${MAX_TICKET_LIFETIME_SEC}.`);
    const list = await SELF.fetch(`https://edge.test/v1/tenant/apps/${appId}/sessions?status=sleeping`, { headers: tenant });
    expect((await refusal(list)).details).toEqual([{ field: "status", reason: "must be one of connecting, connected, reconnecting" }]);
  });
});

describe("a refused socket query says what is wrong", () => {
  const record = { appId: "mAppId_why", environment: "sandbox", region: "eu", secrets: { kaleyraApiKey: false, tokenWebhookSecret: false, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: false }, epoch: "e", createdAt: 1, updatedAt: 1 } as const;
  const parse = (query: string) =>
    parseSocketRequest(new Request(`https://edge.test/v1/apps/mAppId_why/socket?environment=sandbox&region=eu&${query}`, { headers: { Upgrade: "websocket" } }), "mAppId_why", async () => record);

  it.each([
    ["", "userId|link", "must be exactly one: userId for a token session, or link (the access link's digest) for an access-link session"],
    ["userId=a%20b", "userId", "must be 1..128 of A-Z a-z 0-9 _ . @ + -"],
    [`link=${"D".repeat(64)}`, "link", "must be the SHA-256 of the canonical access link, 64 lower-case hex digits"],
    ["userId=u1&debug=1", "debug", "is not a query parameter of the socket (its parameters: environment, region, userId, link)"],
    ["userId=u1&userId=u2", "userId", "must be given once"],
  ])("%s: %s %s", async (query, field, reason) => {
    const parsed = await parse(query);
    expect(parsed).toEqual({ ok: false, error: { code: "bad_request", field, details: [{ field, reason }], message: `The request is invalid: ${field} ${reason}.` } });
  });
});

describe("a refused frame says what is wrong on the wire", () => {
  it("the session's error frame carries the parser's message and details", async () => {
    const appId = freshAppId();
    await put(appId, JSON.stringify({ environment: "sandbox", region: "eu" }));
    const res = await SELF.fetch(`https://edge.test/v1/apps/${appId}/socket?environment=sandbox&region=eu&userId=alice`, { headers: { Upgrade: "websocket" } });
    const ws = res.webSocket!;
    const frames: unknown[] = [];
    const second = new Promise<void>((resolve) => ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)) === 2 && resolve()));
    ws.accept();
    ws.send(JSON.stringify({ type: "auth", tokn: "x" }));
    await second;
    expect(frames[1]).toEqual({
      type: "error",
      code: "invalid_frame",
      message: "The frame is invalid: tokn is not a field of the auth frame (its fields: type, resume, ticket, token, askToken, since).",
      field: "tokn",
      details: [{ field: "tokn", reason: "is not a field of the auth frame (its fields: type, resume, ticket, token, askToken, since)" }],
    });
    ws.close(1000, "test done");
  });
});
