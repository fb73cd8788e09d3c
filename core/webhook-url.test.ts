/** The token webhook SSRF guard: which URLs the service may call for a tenant. */
import { describe, expect, it } from "vitest";
import { isWebhookUrl } from "./webhook-url";

describe("token webhook URLs", () => {
  it.each([
    "https://tenant.example.com/tokens",
    "https://api.tenant.example.com:8443/v1/tokens?x=1",
    "https://tenant.example.com./tokens", // a fully qualified name: one trailing dot
    "https://xn--bcher-kva.de/t", // an IDN, as the parser gives it
    "https://b\u00fccher.de/t",
    "https://tenant.xn--p1ai/t", // a Unicode TLD (.рф) in punycode
    "https://1.1.1.1/t",
    "https://[2606:4700:4700::1111]/t",
    "https://[2620:4f:8000::1]/t", // AS112: special purpose, but globally reachable
  ])("accepts %s", (url) => {
    expect(isWebhookUrl(url)).toBe(true);
  });

  it.each([
    ["plain http", "http://tenant.example.com/tokens"],
    ["loopback", "https://127.0.0.1/t"],
    ["loopback, decimal form", "https://2130706433/t"],
    ["loopback, hex form", "https://0x7f.0.0.1/t"],
    ["localhost", "https://localhost/t"],
    ["a localhost subdomain", "https://api.localhost/t"],
    ["localhost with a trailing dot", "https://localhost./t"],
    ["localhost with two trailing dots", "https://localhost../t"],
    ["a public name with two trailing dots", "https://tenant.example.com../t"],
    ["private 10/8", "https://10.1.2.3/t"],
    ["private 172.16/12", "https://172.20.0.1/t"],
    ["private 192.168/16", "https://192.168.1.1/t"],
    ["link-local and cloud metadata", "https://169.254.169.254/latest/meta-data"],
    ["CGNAT 100.64/10", "https://100.100.100.200/t"],
    ["this network", "https://0.0.0.0/t"],
    ["IETF protocol assignments 192.0.0/24", "https://192.0.0.170/t"],
    ["documentation 192.0.2/24", "https://192.0.2.1/t"],
    ["documentation 198.51.100/24", "https://198.51.100.7/t"],
    ["documentation 203.0.113/24", "https://203.0.113.10/t"],
    ["benchmarking 198.18/15", "https://198.19.0.1/t"],
    ["6to4 relay anycast 192.88.99/24", "https://192.88.99.1/t"],
    ["multicast", "https://239.1.2.3/t"],
    ["reserved 240/4", "https://250.0.0.1/t"],
    ["limited broadcast", "https://255.255.255.255/t"],
    ["metadata by name", "https://metadata.google.internal/t"],
    ["an internal name", "https://db.internal/t"],
    ["a single label: AWS's metadata name", "https://instance-data/latest/meta-data"],
    ["a single label", "https://intranet/t"],
    ["a TLD alone (a dotless name)", "https://ai/t"],
    ["an empty label", "https://api..example.com/t"],
    ["a Kubernetes service", "https://kubernetes.default.svc/t"],
    ["a Kubernetes cluster name", "https://kubernetes.default.svc.cluster.local/t"],
    [".local (mDNS)", "https://printer.local/t"],
    [".lan", "https://nas.lan/t"],
    [".home.arpa", "https://router.home.arpa/t"],
    [".corp", "https://wiki.corp/t"],
    [".home", "https://box.home/t"],
    [".example (reserved)", "https://tenant.example/t"],
    [".consul", "https://vault.service.consul/t"],
    ["a numeric last label", "https://tenant.123/t"],
    ["an underscore in a label", "https://a_b.example.com/t"],
    ["IPv6 unspecified", "https://[::]/t"],
    ["IPv6 loopback", "https://[::1]/t"],
    ["IPv6 unique local", "https://[fd00::1]/t"],
    ["IPv6 link-local", "https://[fe80::1]/t"],
    ["IPv6 site-local", "https://[fec0::1]/t"],
    ["IPv6 multicast", "https://[ff02::1]/t"],
    ["IPv6 discard-only 100::/64", "https://[100::1]/t"],
    ["IPv4-mapped IPv6", "https://[::ffff:127.0.0.1]/t"],
    ["IPv4-compatible IPv6", "https://[::10.0.0.1]/t"],
    ["NAT64 of a private address", "https://[64:ff9b::a00:1]/t"],
    ["NAT64 of a public address (a NAT64 gateway may be local)", "https://[64:ff9b::101:101]/t"],
    ["local-use NAT64 64:ff9b:1::/48", "https://[64:ff9b:1::1]/t"],
    ["6to4 with 127.0.0.1 inside", "https://[2002:7f00:1::1]/t"],
    ["6to4 with a public address inside", "https://[2002:101:101::1]/t"],
    ["Teredo", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/t"],
    ["IETF protocol assignments 2001::/23", "https://[2001:2::1]/t"],
    ["IPv6 documentation 2001:db8::/32", "https://[2001:db8::1]/t"],
    ["IPv6 documentation 3fff::/20", "https://[3fff::1]/t"],
    ["segment routing 5f00::/16", "https://[5f00::1]/t"],
    ["credentials in the URL", "https://user:pw@tenant.example.com/t"],
    ["not a URL", "tenant.example.com/t"],
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
