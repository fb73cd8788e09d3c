/**
 * Property-based fuzzing through the Worker and a live session (fast-check): random HTTP bodies and
 * random frames never crash anything, and a refused input changes nothing.
 */
import { env, SELF } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signRoomId, signWebhook } from "../crypto/signature";
import { parseClientFrame } from "../core/protocol";
import { fakeToken } from "./fake-remote";
import { attach, sessionNow, sessionStub, snapshot, type TestClient } from "./harness";

const ADMIN = { Authorization: "Bearer test-admin-token" };
const bodyArb = fc.oneof(
  fc.json(),
  fc.string({ maxLength: 100 }),
  fc.record(
    {
      environment: fc.constantFrom("sandbox", "production", "staging", 1),
      region: fc.constantFrom("eu", "in", "us", "xx", null),
      retryPolicy: fc.anything(),
      serverTokens: fc.anything(),
      attachModes: fc.anything(),
      allowedOrigins: fc.anything(),
      maxSessions: fc.anything(),
      kaleyraApiKey: fc.oneof(fc.string(), fc.constant("ak_test_fuzz_key"), fc.constant(null)),
    },
    { requiredKeys: [] },
  ).map((o) => JSON.stringify(o)),
);

describe("HTTP bodies", () => {
  it("admin PUT: no 5xx, and a refused body leaves the app as it was (600 cases)", async () => {
    const appId = `mAppId_fuzz_${crypto.randomUUID().slice(0, 8)}`;
    const url = `http://edge.test/v1/apps/${appId}`;
    await SELF.fetch(url, { method: "PUT", headers: ADMIN, body: JSON.stringify({ environment: "sandbox", region: "eu" }) });
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const before = await (await SELF.fetch(url, { headers: ADMIN })).text();
        const res = await SELF.fetch(url, { method: "PUT", headers: ADMIN, body });
        expect(res.status).toBeLessThan(500);
        const answer = (await res.json()) as { error?: { code: string } };
        if (res.status >= 400) {
          expect(answer.error?.code).toBe("bad_request");
          expect(await (await SELF.fetch(url, { headers: ADMIN })).text()).toBe(before);
        }
      }),
      { numRuns: 600 },
    );
  });

  it("Kaleyra webhooks, correctly signed but with random payloads: no 5xx (300 v1 and 100 v0 cases)", async () => {
    const appId = `mAppId_fuzzwh_${crypto.randomUUID().slice(0, 8)}`;
    const apiKey = "ak_test_fuzz_webhooks";
    await SELF.fetch(`http://edge.test/v1/apps/${appId}`, { method: "PUT", headers: ADMIN, body: JSON.stringify({ environment: "sandbox", region: "eu", kaleyraApiKey: apiKey }) });
    const payload = fc.oneof(
      fc.json(),
      fc.record(
        {
          event: fc.constantFrom("on_session_ended", "on_room_disabled", "on_room_deleted", "on_call_ended", "on_room_created", 5),
          event_version: fc.constantFrom("1.0", "2.0", 1, null),
          namespace: fc.constantFrom("room", "", 3),
          timestamp: fc.oneof(fc.integer(), fc.string({ maxLength: 30 })),
          data: fc.oneof(fc.anything(), fc.record({ room_id: fc.oneof(fc.string(), fc.constantFrom("room_abc", "a/b")), session_id: fc.string() })),
        },
        { requiredKeys: ["event"] },
      ).map((o) => JSON.stringify(o)),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(payload, async (body) => {
        // A distinct timestamp per case, so a repeated body is not refused as a replay.
        const signature = await signWebhook(apiKey, body, Math.floor(Date.now() / 1000) - (n++ % 200));
        const res = await SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers: { "bandyer-signature": signature }, body });
        expect(res.status).toBeLessThan(500);
        await res.body?.cancel();
      }),
      { numRuns: 300 },
    );
    // v0: room-id-hmac over whatever room id the body names (a valid MAC when it names one).
    await fc.assert(
      fc.asyncProperty(payload, async (body) => {
        let roomId = "";
        try {
          const parsed = JSON.parse(body) as { room_id?: unknown; data?: { room_id?: unknown } };
          roomId = String(parsed?.data?.room_id ?? parsed?.room_id ?? "");
        } catch {
          // not JSON: the MAC is over the empty string
        }
        const res = await SELF.fetch(`http://edge.test/v1/webhooks/kaleyra/${appId}`, { method: "POST", headers: { "room-id-hmac": await signRoomId(apiKey, roomId) }, body });
        expect(res.status).toBeLessThan(500);
        await res.body?.cancel();
      }),
      { numRuns: 100 },
    );
  });
});

describe("frames to a live session", () => {
  const alice = { kind: "token", userId: "alice" } as const;
  const FIELDS = ["userId", "accessLink", "requestId", "token", "reason", "clearSavedData", "resume", "ticket", "x"];
  const frameArb = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.json(),
    fc.record({
      type: fc.constantFrom("auth", "connect", "token", "token_failed", "disconnect", "nope"),
      fields: fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 3 }),
    }).map(({ type, fields }) => JSON.stringify({ ...fields, type })),
  );

  // Only frames the protocol refuses: a valid one may change the session, which other tests cover.
  const refusedFrameArb = frameArb.filter((raw) => !parseClientFrame(raw).ok);

  it("a refused frame gets an error and changes nothing (300 cases)", async () => {
    const stub = await sessionStub(alice);
    let client: TestClient = await attach(stub, alice);
    client.send({ type: "connect", userId: "alice" });
    const request = await client.nextTokenRequest();
    client.send({ type: "token", requestId: request.requestId, token: fakeToken("alice", (await sessionNow(stub)) + 3_600_000) });
    await client.waitForStatus("connected");
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(refusedFrameArb, async (raw) => {
        // Under the 20 frames/s limit: a fresh socket every 10 frames.
        if (++sent % 10 === 0) {
          client.close();
          client = await attach(stub, alice);
        }
        const before = await snapshot(stub);
        const errors = client.ofType("error").length;
        client.sendRaw(raw);
        await client.waitFor((c) => c.ofType("error").length > errors, "the error frame", 3_000);
        expect(await snapshot(stub)).toEqual(before);
      }),
      { numRuns: 300 },
    );
    expect(env.REMOTE).toBe("fake");
  });
});
