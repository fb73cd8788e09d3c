/** The tenant token webhook call, as a server-side request forgery target (issue: attach security, invariant 8). */
import { describe, expect, it, vi } from "vitest";
import { fetchServerToken, MAX_WEBHOOK_ANSWER_BYTES, type ServerTokenRequest } from "./server-tokens";
import { FakeRemote } from "../test/fake-remote";

const base: ServerTokenRequest = {
  appId: "mAppId_ssrf",
  userId: "alice",
  requestId: "n.1",
  environment: "sandbox",
  region: "eu",
  settings: { source: "webhook", order: "first", webhookUrl: "https://tenant.example.com/tokens" },
  secrets: { tokenWebhookSecret: "whsec_0123456789abcdef" },
  timeoutMs: 1_000,
};

function deps(answer: () => Response) {
  const fetch = vi.fn(async (_request: Request) => answer());
  return { fetch, deps: { minter: new FakeRemote(), fetch, nowSec: () => 1_700_000_000 } };
}

describe("the token webhook call", () => {
  it("answers the token of a 200 JSON answer, posting with redirects off", async () => {
    const { fetch, deps: d } = deps(() => Response.json({ access_token: "tok" }));
    expect(await fetchServerToken(base, d)).toEqual({ ok: true, token: "tok" });
    expect(fetch.mock.calls[0]![0].redirect).toBe("manual");
  });

  it("does not follow a redirect to an internal URL: the attempt fails and nothing else is fetched", async () => {
    const { fetch, deps: d } = deps(() => new Response(null, { status: 307, headers: { location: "http://127.0.0.1:8787/emulator/control/reset" } }));
    const result = await fetchServerToken(base, d);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("redirect") });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("reads no more than the answer limit", async () => {
    const { deps: d } = deps(() => new Response(JSON.stringify({ access_token: "t", pad: "x".repeat(MAX_WEBHOOK_ANSWER_BYTES) })));
    expect(await fetchServerToken(base, d)).toMatchObject({ ok: false, reason: expect.stringContaining("larger than") });
  });

  it.each(["http://127.0.0.1:8787/emulator/control/reset", "https://169.254.169.254/latest", "https://10.0.0.7/t", "http://tenant.example.com/t"])(
    "never calls %s, even if it was stored before the rule (checked again before every call)",
    async (webhookUrl) => {
      const { fetch, deps: d } = deps(() => Response.json({ access_token: "tok" }));
      const result = await fetchServerToken({ ...base, settings: { ...base.settings, webhookUrl } }, d);
      expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("not allowed") });
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it("calls a loopback webhook only where the deployment allows it (the local composition)", async () => {
    const { fetch, deps: d } = deps(() => Response.json({ access_token: "tok" }));
    const local = { ...base, settings: { ...base.settings, webhookUrl: "http://127.0.0.1:9000/tokens" } };
    expect(await fetchServerToken(local, d)).toMatchObject({ ok: false });
    expect(await fetchServerToken({ ...local, allowLocal: true }, d)).toEqual({ ok: true, token: "tok" });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
