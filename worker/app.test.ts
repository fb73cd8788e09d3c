import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "./app";
import type { Env } from "../durable-objects/bindings";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Worker HTTP surface", () => {
  it("answers GET /healthz with 200 { ok: true }", async () => {
    const res = await SELF.fetch("https://edge.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it.each(["/", "/v1", "/v1/apps/mAppId_x/other", "/healthz/x"])("answers %s with 404 not_found JSON", async (path) => {
    const res = await SELF.fetch(`https://edge.test${path}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });

  it("turns an unexpected failure into 500 internal_error, and logs neither the admin token nor the query", async () => {
    const logged: unknown[][] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args));
    }
    const broken = { ...env, APP_REGISTRY: undefined, APP_STATE: undefined } as unknown as Env;
    const request = new Request("https://edge.test/v1/apps/mAppId_x?secret=query-secret", {
      headers: { Authorization: "Bearer test-admin-token" },
    });
    const res = await app.fetch(request, broken);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "internal_error", message: expect.any(String) } });
    expect(logged.length).toBeGreaterThan(0);
    const text = JSON.stringify(logged);
    expect(text).not.toContain("test-admin-token");
    expect(text).not.toContain("query-secret");
  });
});
