/**
 * Property-based fuzzing of the state machine: random event sequences (valid, stale, for unknown
 * requests, first connects proved by a socket) never throw, never mutate their input, keep at most
 * one token/remote duty pending, tell a proof to its prover only, and an answer for a request that
 * is not pending never changes the state.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { initialState, nextDue, type SessionEvent, type SessionState } from "./session";
import { deepFreeze } from "./testing";
import { transition } from "./transition";

const T0 = 1_000_000;
const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/ABC";

/** An event; `live` picks the pending request id when one exists, else a made-up id. */
const eventArb: fc.Arbitrary<(s: SessionState) => SessionEvent> = fc.oneof(
  fc.constant(() => ({ type: "connect_token", clientId: "a", userId: "alice", policy: DEFAULT_RETRY_POLICY }) as SessionEvent),
  fc.constant(() => ({ type: "connect_link", clientId: "a", accessLink: LINK, policy: DEFAULT_RETRY_POLICY }) as SessionEvent),
  // A first connect proved by socket "b" (with or without its attempt 1 token).
  fc.boolean().map((withToken) => () => ({ type: "connect_token", clientId: "b", userId: "alice", policy: DEFAULT_RETRY_POLICY, serverTokens: "first", proof: withToken ? { token: "t" } : {} }) as SessionEvent),
  fc.integer({ min: T0, max: T0 + 7_200_000 }).map((expiresAt) => () => ({ type: "remote_token_joined", expiresAt }) as SessionEvent),
  fc.record({ live: fc.boolean(), client: fc.constantFrom("a", "b", "server") }).map(({ live, client }) => (s: SessionState) =>
    ({ type: "token_answer", clientId: client, requestId: live ? (s.pendingToken?.requestId ?? "x") : "nope", token: "t" }) as SessionEvent),
  fc.record({ live: fc.boolean(), client: fc.constantFrom("a", "b") }).map(({ live, client }) => (s: SessionState) =>
    ({ type: "token_failure", clientId: client, requestId: live ? (s.pendingToken?.requestId ?? "x") : "nope" }) as SessionEvent),
  fc.record({ live: fc.boolean(), user: fc.constantFrom("alice", "mallory") }).map(({ live, user }) => (s: SessionState) =>
    ({ type: "remote_opened", requestId: live ? (s.pendingRemote?.requestId ?? "x") : "nope", userId: user, expiresAt: T0 + 3_600_000 }) as SessionEvent),
  fc.record({ live: fc.boolean(), error: fc.constantFrom("token_expired", "token_invalid", "user_not_found", "user_inactive", "unavailable", "invalid_access_link", "unsupported_version") }).map(
    ({ live, error }) => (s: SessionState) => ({ type: "remote_failed", requestId: live ? (s.pendingRemote?.requestId ?? "x") : "nope", error }) as SessionEvent,
  ),
  fc.constantFrom<SessionEvent["type"]>("alarm", "remote_token_expired", "remote_lost", "call_ended", "user_deactivated").map((type) => () => ({ type }) as SessionEvent),
  fc.constantFrom("a", "b").map((clientId) => () => ({ type: "client_attached", clientId }) as SessionEvent),
  fc.constantFrom("a", "b").map((clientId) => () => ({ type: "client_left", clientId }) as SessionEvent),
  fc.boolean().map((clearSavedData) => () => ({ type: "disconnect", clientId: "a", clearSavedData }) as SessionEvent),
);

const step = fc.record({ advance: fc.integer({ min: 0, max: 200_000 }), event: eventArb });

describe("transition under fuzzing", () => {
  it("random sequences keep every invariant (3,000 sequences of up to 30 events)", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (steps, r) => {
        let state = initialState();
        let now = T0;
        for (const { advance, event: make } of steps) {
          now += advance;
          const event = make(state);
          const input = deepFreeze(structuredClone(state));
          const { state: next, effects } = transition(input, event, { now, random: () => r, clients: ["a", "b"] });
          // At most one token or remote duty is pending at a time.
          const pending = [next.pendingToken, next.pendingRemote, next.nextTokenAttemptAt, next.nextReconnectAt].filter((x) => x !== undefined);
          expect(pending.length).toBeLessThanOrEqual(1);
          // Every request sent out is the one pending.
          for (const fx of effects) {
            if (fx.type === "request_token") expect(fx.requestId).toBe(next.pendingToken?.requestId);
            if (fx.type === "open_remote") expect(fx.requestId).toBe(next.pendingRemote?.requestId);
            if (fx.type === "set_alarm") expect(fx.at ?? undefined).toBe(nextDue(next));
          }
          // A proof is nobody's session: only its prover is asked or told anything, and it holds no slot.
          if (next.proof) {
            for (const fx of effects) {
              if (fx.type === "request_token") expect(fx.clientId === undefined || fx.clientId === next.proof.clientId).toBe(true);
              expect(fx.type).not.toBe("broadcast");
              if (fx.type === "proof_view") expect(fx.clientId).toBe(next.proof.clientId);
            }
            expect(next.serverTokens).toBeUndefined();
          }
          // An answer to a request that is not pending changes nothing (when nothing is due either).
          const stale = "requestId" in event && event.requestId === "nope";
          if (stale && (nextDue(state) ?? Infinity) > now) expect(next).toEqual(state);
          state = next;
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
