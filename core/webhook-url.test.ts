/** The token webhook SSRF guard: which URLs the service may call for a tenant. */
import { describe, expect, it } from "vitest";
import { isWebhookUrl } from "./webhook-url";

describe("token webhook URLs", () => {
  it.each(["https://tenant.example/tokens", "https://api.tenant.example:8443/v1/tokens?x=1", "https://203.0.113.10/t", "https://[2001:db8::1]/t"])("accepts %s", (url) => {
    expect(isWebhookUrl(url)).toBe(true);
  });

  it.each([
    ["plain http", "http://tenant.example/tokens"],
    ["loopback", "https://127.0.0.1/t"],
    ["loopback, decimal form", "https://2130706433/t"],
    ["loopback, hex form", "https://0x7f.0.0.1/t"],
    ["localhost", "https://localhost/t"],
    ["a localhost subdomain", "https://api.localhost/t"],
    ["localhost with a trailing dot", "https://localhost./t"],
    ["private 10/8", "https://10.1.2.3/t"],
    ["private 172.16/12", "https://172.20.0.1/t"],
    ["private 192.168/16", "https://192.168.1.1/t"],
    ["link-local and cloud metadata", "https://169.254.169.254/latest/meta-data"],
    ["CGNAT 100.64/10", "https://100.100.100.200/t"],
    ["this network", "https://0.0.0.0/t"],
    ["metadata by name", "https://metadata.google.internal/t"],
    ["an internal name", "https://db.internal/t"],
    ["IPv6 loopback", "https://[::1]/t"],
    ["IPv6 unique local", "https://[fd00::1]/t"],
    ["IPv6 link-local", "https://[fe80::1]/t"],
    ["IPv4-mapped IPv6", "https://[::ffff:127.0.0.1]/t"],
    ["NAT64 of a private address", "https://[64:ff9b::a00:1]/t"],
    ["credentials in the URL", "https://user:pw@tenant.example/t"],
    ["not a URL", "tenant.example/t"],
  ])("refuses %s", (_name, url) => {
    expect(isWebhookUrl(url)).toBe(false);
  });

  it("only an explicit local flag allows loopback (http or https), and still nothing private", () => {
    for (const url of ["http://127.0.0.1:8787/tokens", "http://localhost:9000/t", "https://[::1]/t"]) {
      expect(isWebhookUrl(url)).toBe(false);
      expect(isWebhookUrl(url, true)).toBe(true);
    }
    expect(isWebhookUrl("http://10.0.0.1/t", true)).toBe(false);
    expect(isWebhookUrl("http://169.254.169.254/", true)).toBe(false);
  });
});
