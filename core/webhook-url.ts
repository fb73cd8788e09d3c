/**
 * Which URLs the service may call: a tenant's token webhook, an app's own Kaleyra addresses
 * (server-side request forgery guard). The service must never be a proxy into its own network or a cloud metadata endpoint:
 * https only, to a public host name or a public IP address. The local composition alone may allow
 * http to loopback (ALLOW_LOCAL_WEBHOOKS), for a webhook run on the developer's machine.
 * Checked when an app is saved and again before every call. A host name that resolves to a private
 * address cannot be seen here (Workers have no DNS API); Cloudflare's network does not route
 * Workers' subrequests to private addresses (docs/security.md).
 */

const BLOCKED_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$|^metadata(\.google\.internal)?$/;

/** True for IPv4 literals in loopback, private, link-local, CGNAT, "this network", multicast or reserved ranges. */
function isNonPublicIpv4(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19))
  );
}

/** IPv6 literals (the URL parser keeps the brackets): only global unicast outside mapped/NAT64 forms passes. */
function isNonPublicIpv6(host: string): boolean {
  if (!host.startsWith("[")) return false;
  const ip = host.slice(1, -1).toLowerCase();
  if (ip === "::" || ip === "::1") return true;
  // IPv4-mapped, IPv4-compatible and NAT64 forms carry an IPv4 address: never trust them.
  if (ip.startsWith("::ffff:") || ip.startsWith("64:ff9b:") || /^::[0-9a-f]/.test(ip)) return true;
  const first = parseInt(ip.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

export function isPublicHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return h !== "" && !BLOCKED_NAMES.test(h) && !isNonPublicIpv4(h) && !isNonPublicIpv6(h);
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
