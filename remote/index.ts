/**
 * The production adapter to Kaleyra (core/port.ts's Remote), as a composition root makes it:
 * worker/index.ts for every deployed session, dev/remote.ts for `REMOTE=kaleyra npm start`.
 */
import type { Remote } from "../core/port";
import { KaleyraAdapter } from "./kaleyra";

/** Kaleyra's production addresses, or an app's own (AppSettings.kaleyra); loopback only where allowed. */
export function kaleyraRemote(env: { ALLOW_LOCAL_WEBHOOKS?: string }): Remote {
  return new KaleyraAdapter({ realtime: { allowLocal: env.ALLOW_LOCAL_WEBHOOKS === "1" } });
}
