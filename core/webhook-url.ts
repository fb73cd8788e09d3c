/**
 * Which URLs the service may call: a tenant's token webhook, an app's own Kaleyra addresses
 * (server-side request forgery guard). The service must never be a proxy into its own network or
 * a cloud metadata endpoint: https only, to a public host, which is
 * - an IPv4 address outside every range of IANA's IPv4 special-purpose registry that is not
 *   globally reachable, and outside multicast and the reserved 240/4;
 * - an IPv6 address in global unicast (2000::/3) outside IANA's special-purpose ranges there
 *   (Teredo and the rest of 2001::/23, documentation, 6to4): so no form that embeds an IPv4
 *   address (mapped, compatible, NAT64, 6to4, Teredo), no ULA, link-local, site-local, discard
 *   or multicast address passes;
 * - or a name of at least two labels under a TLD of IANA's root zone (core/tlds.ts): single
 *   labels (`instance-data`, `intranet`), `.local`, `.internal`, `.svc`, `.lan`, `.corp`,
 *   `.home.arpa`... resolve only inside private networks. One trailing dot (a fully qualified
 *   name) is allowed; an empty label (`localhost..`) is not.
 * The local composition alone may allow http to loopback (ALLOW_LOCAL_WEBHOOKS), for a webhook
 * run on the developer's machine. Checked when an app is saved and again before every call. A
 * public name that resolves to a private address cannot be seen here (Workers have no DNS API):
 * docs/security.md says what stops it.
 */
import { ipv4Number, ipv6Groups } from "./ip";
import { isRootZoneTld } from "./tlds";

/** [first address, prefix length]: IPv4 ranges that are not globally reachable (RFC 6890 and later). */
const IPV4_NOT_GLOBAL: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (CGNAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments (its two anycast /32s included: no webhook lives there)
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // deprecated 6to4 relay anycast
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and the limited broadcast address
];

// Built on first use: nothing runs at import (the client bundles core/app, which imports this).
let ipv4Ranges: { base: number; mask: number }[] | undefined;

function isNonPublicIpv4(n: number): boolean {
  ipv4Ranges ??= IPV4_NOT_GLOBAL.map(([base, bits]) => ({ base: ipv4Number(base)!, mask: (~0 << (32 - bits)) >>> 0 }));
  return ipv4Ranges.some(({ base, mask }) => ((n & mask) >>> 0) === base);
}

/** Global unicast (2000::/3) outside Teredo and the rest of 2001::/23, 2001:db8::/32, 6to4, 3fff::/20. */
function isPublicIpv6(g: readonly number[]): boolean {
  const [a, b] = [g[0]!, g[1]!];
  if ((a & 0xe000) !== 0x2000) return false; // ::/8 forms, 64:ff9b::, 100::, 5f00::, fc00::/7, fe80::/10, fec0::/10, ff00::/8
  if (a === 0x2001 && b < 0x0200) return false; // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID, AMT...
  if (a === 0x2001 && b === 0x0db8) return false; // documentation
  if (a === 0x2002) return false; // 6to4: carries any IPv4 address
  if (a === 0x3fff && b < 0x1000) return false; // documentation (3fff::/20)
  return true;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function isPublicName(host: string): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  const labels = name.split(".");
  const tld = labels[labels.length - 1]!;
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(tld) && isRootZoneTld(tld);
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/** A URL's hostname (the parser's: lower case, punycode, IPv4 in dotted form, IPv6 in brackets) that is public. */
function isPublicHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h.startsWith("[")) {
    const groups = h.endsWith("]") ? ipv6Groups(h.slice(1, -1)) : undefined;
    return groups !== undefined && isPublicIpv6(groups);
  }
  const v4 = ipv4Number(h);
  if (v4 !== undefined) return !isNonPublicIpv4(v4);
  return isPublicName(h);
}

/** A URL the service may call: a string of at most 2,048 characters that parses, without credentials. */
function outboundUrl(v: unknown): URL | undefined {
  if (typeof v !== "string" || v.length > 2_048) return undefined;
  try {
    const url = new URL(v);
    return url.username === "" && url.password === "" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** A URL the service may POST token requests to. `allowLocal`: also http(s) on loopback. */
export function isWebhookUrl(v: unknown, allowLocal = false): v is string {
  const url = outboundUrl(v);
  if (!url) return false;
  if (allowLocal && isLoopbackHost(url.hostname) && (url.protocol === "http:" || url.protocol === "https:")) return true;
  return url.protocol === "https:" && isPublicHost(url.hostname);
}

/**
 * A Kaleyra base URL (an app's own REST or realtime address): one of `schemes` to a public host,
 * no query or fragment; http/ws only to loopback and only where the deployment allows local
 * addresses (the local composition).
 */
export function isKaleyraBaseUrl(v: unknown, schemes: readonly string[], allowLocal: boolean): v is string {
  const url = outboundUrl(v);
  if (!url || url.search !== "" || url.hash !== "") return false;
  if (schemes.includes(url.protocol)) return isPublicHost(url.hostname) || (allowLocal && isLoopbackHost(url.hostname));
  return allowLocal && isLoopbackHost(url.hostname) && (url.protocol === "http:" || url.protocol === "ws:");
}
