import { describe, expect, it } from "vitest";
import { fetchUrlOf, realtimeUrl } from "./url";

const Q = "/sdk/socket/?api-version=2.1.0&EIO=4&transport=websocket";

describe("realtimeUrl", () => {
  it.each([
    ["production", "eu", `wss://cs.eu.bandyer.com${Q}`],
    ["sandbox", "eu", `wss://cs.sandbox.eu.bandyer.com${Q}`],
    ["production", "in", `wss://cs.in.bandyer.com${Q}`],
    ["production", "us", `wss://cs.us.bandyer.com${Q}`],
    ["sandbox", "me", `wss://cs.sandbox.me.bandyer.com${Q}`],
  ] as const)("%s %s -> %s", (environment, region, url) => {
    expect(realtimeUrl({ environment, region })).toEqual({ ok: true, url });
  });

  it("takes an override base, https turned to wss, a base path kept", () => {
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "https://cs.eu.example.com/" })).toEqual({ ok: true, url: `wss://cs.eu.example.com${Q}` });
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "wss://proxy.example.com/kaleyra" })).toEqual({ ok: true, url: `wss://proxy.example.com/kaleyra${Q}` });
  });

  it("accepts ws:// and http:// only for loopback hosts with allowLocal", () => {
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "http://127.0.0.1:8787/emulator", allowLocal: true })).toEqual({
      ok: true,
      url: `ws://127.0.0.1:8787/emulator${Q}`,
    });
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "ws://localhost:9000", allowLocal: true })).toMatchObject({ ok: true });
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "ws://[::1]:9000", allowLocal: true })).toMatchObject({ ok: true });
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "http://127.0.0.1:8787/emulator" })).toMatchObject({ ok: false, error: "bad_realtime_url" });
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "ws://example.com", allowLocal: true })).toMatchObject({ ok: false });
    expect(realtimeUrl({ environment: "production", region: "eu", baseUrl: "ws://127.0.0.1.example.com", allowLocal: true })).toMatchObject({ ok: false });
  });

  it.each(["ftp://x.example.com", "not a url", "wss://u:p@x.example.com", "wss://x.example.com/?a=1", "wss://x.example.com/#f", `wss://x.example.com/${"a".repeat(3000)}`])(
    "refuses the override %j",
    (baseUrl) => {
      expect(realtimeUrl({ environment: "production", region: "eu", baseUrl, allowLocal: true })).toMatchObject({ ok: false, error: "bad_realtime_url" });
    },
  );

  it("refuses an unknown region", () => {
    expect(realtimeUrl({ environment: "production", region: "xx" as "eu" })).toMatchObject({ ok: false });
  });

  it("gives the fetch form of a socket URL", () => {
    expect(fetchUrlOf(`wss://cs.eu.bandyer.com${Q}`)).toBe(`https://cs.eu.bandyer.com${Q}`);
    expect(fetchUrlOf("ws://127.0.0.1:1/x")).toBe("http://127.0.0.1:1/x");
  });
});
