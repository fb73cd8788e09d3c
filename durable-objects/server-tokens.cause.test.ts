/** What a failed Kaleyra credentials call tells the session (its lastError), beyond "no token". */
import { describe, expect, it } from "vitest";
import type { MintAccessTokenError } from "../core/port";
import { fetchServerToken, type ServerTokenRequest } from "./server-tokens";

const request: ServerTokenRequest = {
  appId: "mAppId_cause",
  userId: "alice",
  requestId: "n.1",
  environment: "sandbox",
  region: "eu",
  settings: { source: "kaleyra_api", order: "fallback" },
  secrets: { kaleyraApiKey: "ak_test_cause_key" },
  timeoutMs: 1_000,
};

const failingWith = (error: MintAccessTokenError) => ({
  minter: { mintAccessToken: async () => ({ ok: false as const, error }) },
  fetch: async () => new Response(null, { status: 500 }),
  nowSec: () => 1_700_000_000,
});

describe("a failed Kaleyra credentials call", () => {
  it.each([
    ["unavailable", { cause: "unavailable" }],
    ["user_not_found", { cause: "user_not_found" }],
    ["unauthorized", {}],
    ["invalid_request", {}],
  ] as const)("%s: names the cause when the session has a name for it", async (error, cause) => {
    expect(await fetchServerToken(request, failingWith(error))).toEqual({ ok: false, reason: `kaleyra credentials: ${error}`, ...cause });
  });
});
