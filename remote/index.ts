/**
 * The production adapter to Kaleyra (core/port.ts's Remote), as a composition root makes it:
 * worker/index.ts for every deployed session and connector, dev/remote.ts for `REMOTE=kaleyra npm start`.
 */
import type { KaleyraRemote, Remote } from "../core/port";
import { KaleyraAdapter } from "./kaleyra";
import type { SocketFetch } from "./realtime";

/** Kaleyra's production addresses, or an app's own (AppSettings.kaleyra); loopback only where allowed. */
export function kaleyraRemote(env: { ALLOW_LOCAL_WEBHOOKS?: string }): Remote {
  return new KaleyraAdapter({ realtime: { allowLocal: env.ALLOW_LOCAL_WEBHOOKS === "1" } });
}

/**
 * A connector's adapter (durable-objects/connector): the Socket.IO connections of many users at
 * Kaleyra's addresses (or an app's own), every upgrade through `gate` (the connector's handshake gate).
 */
export function kaleyraUpstream(env: { ALLOW_LOCAL_WEBHOOKS?: string }, gate: (fetch: SocketFetch) => SocketFetch): KaleyraRemote {
  return new KaleyraAdapter({ realtime: { allowLocal: env.ALLOW_LOCAL_WEBHOOKS === "1", fetch: gate((request) => fetch(request)) } });
}
