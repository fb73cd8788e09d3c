/**
 * Access links are bearer credentials: they never travel in a URL. A link socket is routed by the
 * digest of the link's canonical form, and the link itself comes in the `connect` frame, where the
 * session checks it against the digest.
 * Canonical form: `https://<host>[:port]<path>`, host lower-cased, default port dropped, trailing
 * slashes dropped; no query (the options Kaleyra puts there, `ad`, `vd`, `dn`, ...) and no fragment.
 * So every variant of one link is one session. Pure: only the Web Crypto digest, present in
 * browsers, WebViews, Node and workerd alike.
 */

/** A link's identity, or undefined when it is not an https URL without user info. */
export function canonicalAccessLink(link: string): string | undefined {
  try {
    const url = new URL(link);
    if (url.protocol === "https:" && !url.username && !url.password) return `https://${url.host}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    // Not a URL: no identity.
  }
}

/** Lower-case hex SHA-256 of the canonical link: the `link` query value and the session's name. */
export async function accessLinkDigest(link: string): Promise<string | undefined> {
  const canonical = canonicalAccessLink(link);
  if (canonical === undefined) return undefined;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const LINK_DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/** Two links name the same call. */
export function sameAccessLink(a: string, b: string): boolean {
  const ca = canonicalAccessLink(a);
  return ca !== undefined && ca === canonicalAccessLink(b);
}
