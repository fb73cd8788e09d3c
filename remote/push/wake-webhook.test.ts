/** The signed wake webhook: what the tenant receives and can verify, and the same SSRF rules as the token webhook. */
import { describe, expect, it, vi } from "vitest";
import type { WakePayload } from "../../core/wake";
import { verifyWebhookSignature } from "../../crypto/signature";
import { sendWakeWebhook, WAKE_WEBHOOK_SIGNATURE_HEADER, type WakeWebhookRequest } from "./wake-webhook";

const SECRET = "whsec_wake_0123456789";
const NOW = 1_700_000_000;
const wake: WakePayload = { appId: "mAppId_w", userId: "alice", reason: "call_incoming", event: { name: "on_call_incoming", callId: "room_1" } };
const base: WakeWebhookRequest = { url: "https://tenant.example.com/wake", secret: SECRET, wake };

function deps(answer: () => Response | Promise<Response>) {
  const fetch = vi.fn(async (_request: Request) => answer());
  return { fetch, deps: { fetch, nowSec: () => NOW } };
}

describe("the wake webhook", () => {
  it("posts exactly { appId, userId, reason, event }, signed so the tenant verifies it with the token webhook's scheme", async () => {
    const { fetch, deps: d } = deps(() => new Response(null, { status: 204 }));
    expect(await sendWakeWebhook(base, d)).toEqual({ kind: "ok", status: 204 });
    const request = fetch.mock.calls[0]![0];
    const body = await request.text();
    expect(JSON.parse(body)).toEqual(wake);
    expect(request.redirect).toBe("manual");
    expect(request.headers.get("content-type")).toBe("application/json");
    const check = await verifyWebhookSignature(SECRET, request.headers.get(WAKE_WEBHOOK_SIGNATURE_HEADER), body, { nowSec: NOW });
    expect(check).toMatchObject({ ok: true, timestampSec: NOW });
    expect(await verifyWebhookSignature("another secret", request.headers.get(WAKE_WEBHOOK_SIGNATURE_HEADER), body, { nowSec: NOW })).toMatchObject({ ok: false, reason: "mismatch" });
    expect(WAKE_WEBHOOK_SIGNATURE_HEADER).toBe("kaleyra-edge-signature");
  });

  it("429 and 5xx are retried (with Retry-After), no answer too; 404 and other 4xx are refused, never 'gone'", async () => {
    expect(await sendWakeWebhook(base, deps(() => new Response(null, { status: 429, headers: { "retry-after": "12" } })).deps)).toEqual({ kind: "retry", status: 429, retryAfterSec: 12 });
    expect(await sendWakeWebhook(base, deps(() => new Response("oops", { status: 502 })).deps)).toEqual({ kind: "retry", status: 502 });
    expect(await sendWakeWebhook(base, deps(() => Promise.reject(new TypeError("network"))).deps)).toEqual({ kind: "retry", status: 0 });
    expect(await sendWakeWebhook(base, deps(() => new Response(null, { status: 404 })).deps)).toMatchObject({ kind: "refused", status: 404 });
    expect(await sendWakeWebhook(base, deps(() => new Response(null, { status: 401 })).deps)).toMatchObject({ kind: "refused", status: 401 });
  });

  it("does not follow a redirect to an internal URL, and does not read the answer's body", async () => {
    let pulled = 0;
    const endless = new ReadableStream({ pull: (c) => void (pulled++, c.enqueue(new Uint8Array(65_536))) });
    const { fetch, deps: d } = deps(() => new Response(null, { status: 307, headers: { location: "http://127.0.0.1:8787/emulator/control/reset" } }));
    expect(await sendWakeWebhook(base, d)).toMatchObject({ kind: "refused", status: 307, reason: expect.stringContaining("redirect") });
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(await sendWakeWebhook(base, deps(() => new Response(endless, { status: 200 })).deps)).toEqual({ kind: "ok", status: 200 });
    expect(pulled).toBeLessThanOrEqual(2);
  });

  it.each(["http://127.0.0.1:8787/emulator/control/reset", "https://169.254.169.254/latest", "https://10.0.0.7/w", "http://tenant.example.com/w"])(
    "never calls %s, even if it was stored before the rule",
    async (url) => {
      const { fetch, deps: d } = deps(() => new Response(null, { status: 200 }));
      expect(await sendWakeWebhook({ ...base, url }, d)).toMatchObject({ kind: "refused", reason: expect.stringContaining("not allowed") });
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it("calls a loopback webhook only where the deployment allows it", async () => {
    const { fetch, deps: d } = deps(() => new Response(null, { status: 200 }));
    const local = { ...base, url: "http://127.0.0.1:9000/wake" };
    expect(await sendWakeWebhook(local, d)).toMatchObject({ kind: "refused" });
    expect(await sendWakeWebhook({ ...local, allowLocal: true }, d)).toEqual({ kind: "ok", status: 200 });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
