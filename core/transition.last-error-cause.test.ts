/** lastError names what the server-side token source knew: Kaleyra unreachable, or no such user. */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { SERVER_SOURCE, view } from "./session";
import { Driver, NONCE, seq } from "./testing";

const T0 = 1_000_000;

describe("a failed server-side token attempt names its cause", () => {
  it("Kaleyra unreachable (DNS, connection, 5xx) is unavailable, an unknown user user_not_found; the schedule is a token attempt's", () => {
    const d = new Driver(seq(NONCE, 0, 0), []);
    d.send(T0, { type: "connect_token", userId: "alice", policy: DEFAULT_RETRY_POLICY, serverTokens: "fallback" });
    expect(d.state.pendingToken?.clientId).toBe(SERVER_SOURCE);
    d.send(T0 + 5, { type: "token_failure", clientId: SERVER_SOURCE, requestId: d.requestId, cause: "unavailable" });
    expect(view(d.state)).toMatchObject({ status: "connecting", lastError: "unavailable", tokenAttempt: 1 });
    // Attempt 2 follows 1 s after the failure, as for any failed token attempt.
    expect(d.state.nextTokenAttemptAt).toBe(T0 + 5 + 1_000);
    d.alarm(T0 + 1_005);
    d.send(T0 + 1_010, { type: "token_failure", clientId: SERVER_SOURCE, requestId: d.requestId, cause: "user_not_found" });
    expect(view(d.state).lastError).toBe("user_not_found");
    d.alarm(T0 + 5_010);
    d.send(T0 + 5_020, { type: "token_failure", clientId: SERVER_SOURCE, requestId: d.requestId });
    expect(view(d.state)).toMatchObject({ status: "reconnecting", lastError: "token_failed" });
  });
});
