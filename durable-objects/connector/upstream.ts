/**
 * What a connector opens its users' Kaleyra connections with, chosen by the REMOTE binding:
 * the production adapter's realtime part (remote/kaleyra-realtime.ts, many connections in one
 * adapter) at Kaleyra's addresses or at the emulator's (the stub's fetch, as sessions used to),
 * or the in-process fake for unit tests. Every upgrade request goes through the connector's
 * handshake gate (core/connector-gate.ts).
 */
import type { HandshakeGate } from "../../core/connector-gate";
import { realtimeOptions, type RemoteEnv } from "../../remote";
import { FakeRemote } from "../../remote/fake";
import { KaleyraAdapter } from "../../remote/kaleyra";
import type { KaleyraRemote } from "../../remote/port";
import type { SocketFetch } from "../../remote/realtime";

/** How long an upgrade waits for a slot (under the opener's own 10 s bound, which counts the wait too). */
export const GATE_WAIT_MS = 8_000;

export function connectorUpstream(env: RemoteEnv, gate: HandshakeGate): KaleyraRemote {
  const options = realtimeOptions(env);
  if (options === undefined) return new FakeRemote();
  const base: SocketFetch = options.fetch ?? ((request) => fetch(request));
  return new KaleyraAdapter({ realtime: { ...options, fetch: gatedFetch(gate, base) } });
}

/** Waits for a handshake slot, holds it until the response headers came, then lets it go. */
export function gatedFetch(gate: HandshakeGate, base: SocketFetch): SocketFetch {
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
