/**
 * What a connector opens its users' Kaleyra connections with: an adapter (core/port.ts) that its
 * composition root gives it (worker/index.ts: the production adapter's realtime part at Kaleyra's
 * addresses; dev/index.ts: the same at the emulator's, or at Kaleyra's with REMOTE=kaleyra;
 * test/worker.ts: also the in-process fake), made with the connector's handshake gate so that every
 * upgrade request goes through it (core/connector-gate.ts). This layer never names the adapter.
 */
import type { HandshakeGate } from "../../core/connector-gate";
import type { KaleyraRemote } from "../../core/port";

/** How long an upgrade waits for a slot (under the opener's own 10 s bound, which counts the wait too). */
export const GATE_WAIT_MS = 8_000;

/** How an adapter sends an upgrade request (remote/realtime's SocketFetch). */
export type UpgradeFetch = (request: Request) => Promise<Response>;

/**
 * The composition's adapter for one connector: `gate` wraps the fetch its upgrades go through
 * (the Worker's fetch, or the emulator's stub) so that they pass the connector's handshake gate.
 */
export type ConnectorUpstream = (gate: (fetch: UpgradeFetch) => UpgradeFetch) => KaleyraRemote;

/** Waits for a handshake slot, holds it until the response headers came, then lets it go. */
export function gatedFetch(gate: HandshakeGate, base: UpgradeFetch): UpgradeFetch {
  return async (request) => {
    const answer = await gate.enter(Date.now() + GATE_WAIT_MS, Date.now());
    // The opener turns a thrown error into "unavailable": the session's schedule decides what next.
    if (answer !== "go") throw new Error(`handshake gate: ${answer}`);
    try {
      return await base(request);
    } finally {
      gate.leave(Date.now());
    }
  };
}
