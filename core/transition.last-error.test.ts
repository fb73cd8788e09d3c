/** lastError: why a session is not connected, for clients, the demo and the tenant API. */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./policy";
import { view } from "./session";
import { connectToken, Driver, NONCE, seq } from "./testing";

const T0 = 1_000_000;

describe("lastError says why the session is not connected", () => {
  it("a provider failure is token_failed, a silent provider token_timeout, a refused token token_invalid", () => {
    const d = new Driver(seq(NONCE, 0, 0), ["tab"]);
    d.send(T0, connectToken("alice", "tab"));
    expect(view(d.state).lastError).toBeUndefined();
    d.send(T0 + 5, { type: "token_failure", clientId: "tab", requestId: d.requestId });
    expect(view(d.state).lastError).toBe("token_failed");
    d.alarm(T0 + 1_005);
    d.send(T0 + 1_010, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "bad" });
    d.send(T0 + 1_020, { type: "remote_failed", requestId: d.requestId, error: "token_invalid" });
    expect(view(d.state).lastError).toBe("token_invalid");
    d.alarm(T0 + 5_020);
    d.alarm(T0 + 5_020 + DEFAULT_RETRY_POLICY.tokenAttemptTimeoutMs);
    expect(view(d.state)).toMatchObject({ status: "reconnecting", lastError: "token_timeout" });
  });

  it("Kaleyra unreachable is unavailable, a dropped connection remote_lost; connecting clears it", () => {
    const d = new Driver(() => 0, ["tab"]);
    d.send(T0, connectToken("alice", "tab"));
    d.send(T0 + 1, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(T0 + 2, { type: "remote_failed", requestId: d.requestId, error: "unavailable" });
    expect(view(d.state)).toMatchObject({ status: "reconnecting", lastError: "unavailable" });
    d.alarm(d.state.nextReconnectAt!);
    d.send(d.state.pendingToken!.deadline - 1, { type: "token_answer", clientId: "tab", requestId: d.requestId, token: "t" });
    d.send(d.state.pendingRemote!.deadline - 1, { type: "remote_opened", requestId: d.requestId, userId: "alice", expiresAt: T0 + 3_600_000 });
    expect(view(d.state).status).toBe("connected");
    expect(view(d.state).lastError).toBeUndefined();
    d.send(T0 + 60_000, { type: "remote_lost" });
    expect(view(d.state)).toMatchObject({ status: "reconnecting", lastError: "remote_lost" });
  });
});
