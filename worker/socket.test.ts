import { env, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { accessLinkDigest } from "../core/access-link";
import type { AppSettings } from "../core/app";
import { DEFAULT_RETRY_POLICY } from "../core/policy";
import type { AppRecord } from "../durable-objects/AppRegistry";
import { forwardedRequest, SESSION_ROUTE_HEADER, sessionObjectName } from "../durable-objects/session-route";
import { app } from "./app";
import type { Env } from "../durable-objects/bindings";
import { apps } from "../durable-objects/apps";
import { parseSocketRequest, type AppLookup } from "./socket";

const APP_ID = "mAppId_socket";
const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/abc123";
const DIGEST = "d".repeat(64);
const RECORD: AppRecord = { appId: APP_ID, environment: "sandbox", region: "eu", secrets: { kaleyraApiKey: false, tokenWebhookSecret: false, attachTicketSecret: false, wakeWebhookSecret: false, vapidKeys: false }, epoch: "epoch-1", createdAt: 1, updatedAt: 2 };
const UPGRADE = { Upgrade: "websocket" };

function socketRequest(query: string, init: RequestInit = { headers: UPGRADE }, appId = APP_ID): Request {
  return new Request(`https://edge.test/v1/apps/${appId}/socket?${query}`, init);
}

/** A registry holding only RECORD (or the given records), counting lookups. */
function lookupOf(...records: AppRecord[]) {
  return vi.fn<AppLookup>(async (appId) => records.find((r) => r.appId === appId) ?? null);
}

const parse = (query: string, init?: RequestInit, lookup: AppLookup = lookupOf(RECORD), appId = APP_ID) =>
  parseSocketRequest(socketRequest(query, init, appId), appId, lookup);

const refusal = (code: string, field?: string) => ({
  ok: false,
  error: field === undefined ? { code, message: expect.any(String) } : { code, message: expect.any(String), field, ...(code === "bad_request" ? { details: [{ field, reason: expect.any(String) }] } : {}) },
});

describe("parseSocketRequest: order and meaning of the checks", () => {
  it("refuses a request without Upgrade: websocket with upgrade_required, before anything else", async () => {
    const lookup = lookupOf(RECORD);
    expect(await parse("", { headers: {} }, lookup)).toEqual(refusal("upgrade_required"));
    expect(await parse("environment=sandbox&region=eu&userId=u1", { headers: { Upgrade: "h2c" } }, lookup)).toEqual(refusal("upgrade_required"));
    expect(lookup).not.toHaveBeenCalled();
  });

  it("refuses a non-GET upgrade with upgrade_required", async () => {
    expect(await parse("environment=sandbox&region=eu&userId=u1", { method: "POST", headers: UPGRADE })).toEqual(refusal("upgrade_required"));
  });

  it("accepts the Upgrade header in any case", async () => {
    expect((await parse("environment=sandbox&region=eu&userId=u1", { headers: { Upgrade: "WebSocket" } })).ok).toBe(true);
  });

  it("refuses a client that did not configure (environment or region missing or empty) with not_configured", async () => {
    const lookup = lookupOf(RECORD);
    expect(await parse("region=eu&userId=u1", undefined, lookup)).toEqual(refusal("not_configured", "environment"));
    expect(await parse("environment=&region=eu&userId=u1", undefined, lookup)).toEqual(refusal("not_configured", "environment"));
    expect(await parse("environment=sandbox&userId=u1", undefined, lookup)).toEqual(refusal("not_configured", "region"));
    // Before the appId is even looked at.
    expect(await parse("userId=u1", undefined, lookup, "bad-id")).toEqual(refusal("not_configured", "environment"));
    expect(lookup).not.toHaveBeenCalled();
  });

  it("answers app_id_invalid alike for a malformed appId, an unknown app, and a wrong environment or region", async () => {
    const lookup = lookupOf(RECORD);
    const answers = [
      await parse("environment=sandbox&region=eu&userId=u1", undefined, lookup, "bad-id"),
      await parse("environment=sandbox&region=eu&userId=u1", undefined, lookup, "mAppId_unknown"),
      await parse("environment=production&region=eu&userId=u1", undefined, lookup),
      await parse("environment=sandbox&region=us&userId=u1", undefined, lookup),
      await parse("environment=staging&region=eu&userId=u1", undefined, lookup),
    ];
    for (const answer of answers) expect(answer).toEqual(refusal("app_id_invalid"));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    // A malformed id never reaches the registry.
    expect(lookup.mock.calls.map(([id]) => id)).not.toContain("bad-id");
  });

  it("checks the session key and the query keys before the app (they do not depend on it)", async () => {
    const lookup = lookupOf(RECORD);
    expect(await parse("environment=production&region=eu", undefined, lookup)).toEqual(refusal("bad_request", "userId|link"));
    expect(await parse("environment=production&region=eu&userId=u1&x=1", undefined, lookup, "mAppId_unknown")).toEqual(refusal("bad_request", "x"));
    expect(lookup).not.toHaveBeenCalled();
  });

  it("attack: no query tells an existing app from an unknown one, over all 8 environment/region pairs", async () => {
    const queries = ["", "userId=u1", "userId=has%20space", `link=${"d".repeat(63)}`, "userId=u1&x=1", "userId=u1&userId=u2", `accessLink=${encodeURIComponent(LINK)}`];
    const lookup = lookupOf(RECORD);
    for (const environment of ["production", "sandbox"]) {
      for (const region of ["eu", "in", "us", "me"]) {
        for (const rest of queries) {
          const query = `environment=${environment}&region=${region}${rest === "" ? "" : `&${rest}`}`;
          const unknown = await parse(query, undefined, lookup, "mAppId_unknown");
          // The app's own pair with a well-formed query is the one upgrade that succeeds.
          if (environment === RECORD.environment && region === RECORD.region && rest === "userId=u1") continue;
          expect({ query, answer: await parse(query, undefined, lookup) }).toEqual({ query, answer: unknown });
        }
      }
    }
  });

  it.each([
    ["neither userId nor link", "", "userId|link"],
    ["both userId and link", `userId=u1&link=${DIGEST}`, "userId|link"],
    ["an invalid userId", "userId=has%20space", "userId"],
    ["an empty userId", "userId=", "userId"],
    ["a too long userId", `userId=${"u".repeat(129)}`, "userId"],
    ["a link digest that is not 64 hex digits", `link=${"d".repeat(63)}`, "link"],
    ["a link digest in upper case", `link=${"D".repeat(64)}`, "link"],
  ])("refuses %s with bad_request naming the field", async (_name, keyQuery, field) => {
    expect(await parse(`environment=sandbox&region=eu&${keyQuery}`)).toEqual(refusal("bad_request", field));
  });

  it("refuses an access link in the URL (a bearer credential proxies and logs keep) with link_in_url", async () => {
    expect(await parse(`environment=sandbox&region=eu&accessLink=${encodeURIComponent(LINK)}`)).toEqual(refusal("link_in_url", "accessLink"));
    expect(await parse(`environment=sandbox&region=eu&link=${DIGEST}&accessLink=${encodeURIComponent(LINK)}`)).toEqual(refusal("link_in_url", "accessLink"));
  });

  it("refuses unknown and repeated query keys with bad_request naming the key, after the session key", async () => {
    expect(await parse("environment=sandbox&region=eu&userId=u1&debug=1")).toEqual(refusal("bad_request", "debug"));
    expect(await parse("environment=sandbox&region=eu&userId=u1&userId=u2")).toEqual(refusal("bad_request", "userId"));
    expect(await parse("environment=sandbox&region=eu&region=us&userId=u1")).toEqual(refusal("bad_request", "region"));
    expect(await parse("environment=sandbox&region=eu&userId=a%20b&debug=1")).toEqual(refusal("bad_request", "userId"));
  });
});

describe("parseSocketRequest: the route it builds", () => {
  it("routes a userId to a token session with the app's settings and nothing else of the record", async () => {
    expect(await parse("environment=sandbox&region=eu&userId=user.1@x")).toEqual({
      ok: true,
      value: { appId: APP_ID, appEpoch: "epoch-1", key: { kind: "token", userId: "user.1@x" }, app: { environment: "sandbox", region: "eu" } },
    });
  });

  it("routes a link digest to an access-link session", async () => {
    const result = await parse(`environment=sandbox&region=eu&link=${DIGEST}`);
    expect(result.ok && result.value.key).toEqual({ kind: "access_link", linkDigest: DIGEST });
  });

  it("carries the app's retry policy when the app has one", async () => {
    const withPolicy: AppRecord = { ...RECORD, retryPolicy: { ...DEFAULT_RETRY_POLICY, jitterMaxMs: 0 } };
    const result = await parse("environment=sandbox&region=eu&userId=u1", undefined, lookupOf(withPolicy));
    expect(result.ok && result.value.app).toEqual({ environment: "sandbox", region: "eu", retryPolicy: withPolicy.retryPolicy });
  });
});

describe("forwardedRequest", () => {
  it("keeps the client's request and headers, and replaces any route header the client sent", async () => {
    const original = socketRequest("environment=sandbox&region=eu&userId=u1", {
      headers: { ...UPGRADE, "Sec-WebSocket-Key": "abc==", [SESSION_ROUTE_HEADER]: '{"appId":"mAppId_forged"}' },
    });
    const route = { appId: APP_ID, appEpoch: "epoch-1", key: { kind: "token" as const, userId: "u1" }, app: { environment: "sandbox", region: "eu" } as AppSettings };
    const forwarded = forwardedRequest(original, route);
    expect(forwarded.url).toBe(original.url);
    expect(forwarded.method).toBe("GET");
    expect(forwarded.headers.get("upgrade")).toBe("websocket");
    expect(forwarded.headers.get("sec-websocket-key")).toBe("abc==");
    expect(JSON.parse(forwarded.headers.get(SESSION_ROUTE_HEADER) ?? "null")).toEqual(route);
  });
});

describe("GET /v1/apps/:appId/socket", () => {
  async function registerApp(settings: AppSettings = { environment: "sandbox", region: "eu" }) {
    const appId = `mAppId_sock_${crypto.randomUUID().slice(0, 8)}`;
    await apps(env).putApp(appId, settings);
    return appId;
  }

  /** The Worker with a fake session namespace that records what reaches it. */
  function withFakeSessions() {
    const names: string[] = [];
    const requests: Request[] = [];
    const USER_SESSION = {
      idFromName: (name: string) => {
        names.push(name);
        return { name };
      },
      get: () => ({
        fetch: async (request: Request) => {
          requests.push(request);
          return new Response("from the session", { status: 299, headers: { "x-from": "session" } });
        },
      }),
    };
    const fakeEnv = { ...env, USER_SESSION } as unknown as Env;
    return { names, requests, fetch: (request: Request) => app.fetch(request, fakeEnv) };
  }

  async function expectError(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  }

  /** A refused upgrade: one error frame, then a close with 4000 + status. */
  async function refusal(res: Response): Promise<{ frame: { type: string; code: string; message: string }; closeCode: number }> {
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const frames: string[] = [];
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    ws.addEventListener("message", (e) => void frames.push(e.data as string));
    ws.accept();
    const closeCode = await closed;
    expect(frames).toHaveLength(1);
    return { frame: JSON.parse(frames[0]!), closeCode };
  }

  async function expectRefusal(res: Response, closeCode: number, code: string) {
    const r = await refusal(res);
    expect(r).toMatchObject({ closeCode, frame: { type: "error", code } });
  }

  it("forwards a valid upgrade to the session object of (appId, userId) with the route header, and returns its answer as is", async () => {
    const appId = await registerApp({ environment: "production", region: "in", retryPolicy: { ...DEFAULT_RETRY_POLICY, jitterMaxMs: 5 } });
    const sessions = withFakeSessions();
    const res = await sessions.fetch(socketRequest("environment=production&region=in&userId=u1", { headers: UPGRADE }, appId));
    expect(res.status).toBe(299);
    expect(res.headers.get("x-from")).toBe("session");
    expect(await res.text()).toBe("from the session");
    expect(sessions.names).toEqual([await sessionObjectName(appId, { kind: "token", userId: "u1" })]);
    const route = JSON.parse(sessions.requests[0]?.headers.get(SESSION_ROUTE_HEADER) ?? "null");
    expect(route).toEqual({
      appId,
      appEpoch: expect.any(String),
      key: { kind: "token", userId: "u1" },
      app: { environment: "production", region: "in", retryPolicy: { ...DEFAULT_RETRY_POLICY, jitterMaxMs: 5 } },
    });
  });

  it("forwards a link socket to the object named by the link's digest; the link is nowhere in the request", async () => {
    const appId = await registerApp();
    const sessions = withFakeSessions();
    const digest = await accessLinkDigest(LINK);
    await sessions.fetch(socketRequest(`environment=sandbox&region=eu&link=${digest}`, { headers: UPGRADE }, appId));
    expect(sessions.names).toEqual([`link:${appId}:${digest}`]);
    const forwarded = sessions.requests[0]!;
    expect(forwarded.url).not.toContain("abc123");
    expect([...forwarded.headers.values()].join(" ")).not.toContain("abc123");
  });

  it("touches no session object when it refuses", async () => {
    const appId = await registerApp();
    const sessions = withFakeSessions();
    await sessions.fetch(socketRequest("environment=sandbox&region=eu&userId=u1", { headers: {} }, appId));
    await sessions.fetch(socketRequest("environment=production&region=eu&userId=u1", { headers: UPGRADE }, appId));
    await sessions.fetch(socketRequest("environment=sandbox&region=eu", { headers: UPGRADE }, appId));
    expect(sessions.names).toEqual([]);
    expect(sessions.requests).toEqual([]);
  });

  it("answers a plain GET with 426 upgrade_required and Upgrade: websocket", async () => {
    const res = await SELF.fetch(socketRequest("environment=sandbox&region=eu&userId=u1", { headers: {} }, await registerApp()));
    expect(res.headers.get("upgrade")).toBe("websocket");
    await expectError(res, 426, "upgrade_required");
  });

  it("refuses an unconfigured client with not_configured over the socket, closing 4400", async () => {
    await expectRefusal(await SELF.fetch(socketRequest("userId=u1", { headers: UPGRADE }, await registerApp())), 4400, "not_configured");
  });

  it("refuses with app_id_invalid (4404) and the same frame for an unknown app and a mismatching region", async () => {
    const appId = await registerApp();
    const unknown = await refusal(await SELF.fetch(socketRequest("environment=sandbox&region=eu&userId=u1", { headers: UPGRADE }, "mAppId_nobody")));
    const mismatch = await refusal(await SELF.fetch(socketRequest("environment=sandbox&region=us&userId=u1", { headers: UPGRADE }, appId)));
    expect(unknown).toMatchObject({ closeCode: 4404, frame: { code: "app_id_invalid" } });
    expect(mismatch).toEqual(unknown);
  });

  it("refuses a bad session key or an unknown query key with bad_request (4400)", async () => {
    const appId = await registerApp();
    await expectRefusal(await SELF.fetch(socketRequest("environment=sandbox&region=eu", { headers: UPGRADE }, appId)), 4400, "bad_request");
    await expectRefusal(await SELF.fetch(socketRequest("environment=sandbox&region=eu&userId=u1&x=1", { headers: UPGRADE }, appId)), 4400, "bad_request");
  });

  it("hands a valid upgrade to the real session object (none of the route's own refusals)", async () => {
    const appId = await registerApp();
    const res = await SELF.fetch(socketRequest("environment=sandbox&region=eu&userId=u1", { headers: UPGRADE }, appId));
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const first = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(e.data as string)));
    ws.accept();
    // The session's first frame asks the socket to prove its user; a refusal's would be an error.
    expect(JSON.parse(await first)).toMatchObject({ type: "auth_required", modes: ["token", "resume"] });
    ws.close(1000, "test done");
  });
});
