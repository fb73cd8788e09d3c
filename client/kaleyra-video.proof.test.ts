/**
 * How the client proves who it is when the server asks (auth_required): the link on a link
 * socket, the saved resume credential, else a token, which the server asks for (token_request) so
 * that a first connect runs the seed's schedule on the server, shown to the client as its proof's
 * states. connect() never settles with a failure the schedule retries; it rejects with a final one.
 */
import { describe, expect, it, vi } from "vitest";
import { fakeClient, settle } from "./testing";

const TOKEN_PROOF = { type: "auth_required", modes: ["token", "resume"] } as const;
const ASK = { type: "auth", askToken: true } as const;
const proofState = (state: Record<string, unknown>) => ({ type: "state", proof: true, state: { mode: "token", userId: "alice", tokenAttempt: 1, reconnectAttempt: 0, refreshing: false, ...state } });

function proving(provider = vi.fn(async () => "tok")) {
  const { kaleyra, server, timers } = fakeClient();
  const connecting = kaleyra.connect("alice", provider);
  let settled: unknown = "pending";
  connecting.then((u) => (settled = u), (e: unknown) => (settled = e));
  const ws = server.last().accept();
  ws.receive(TOKEN_PROOF);
  return { kaleyra, server, timers, ws, provider, connecting, settled: () => settled };
}

describe("proving the user on a token socket", () => {
  it("with no resume credential asks to be asked for the token; the provider answers the server's request (attempt 1)", async () => {
    const { ws, provider } = proving();
    await settle();
    expect(ws.sent).toEqual([ASK]);
    expect(provider).not.toHaveBeenCalled();
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(provider).toHaveBeenCalledWith({ userId: "alice" });
    expect(ws.sent.at(-1)).toEqual({ type: "token", requestId: "n.1", token: "tok" });
    // Proven (the attach state): the client connects, which joins the session its token started.
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(ws.sent.at(-1)).toEqual({ type: "connect", userId: "alice" });
  });

  it("answers every token request of its own proof (attempts 2 and 3, a reconnect's cycle) like any other", async () => {
    const { ws } = proving();
    for (const [id, attempt] of [["n.2", 2], ["n.3", 3], ["n.5", 1]] as const) {
      ws.receive({ type: "token_request", requestId: id, userId: "alice", attempt });
      await settle();
      expect(ws.sent.at(-1)).toEqual({ type: "token", requestId: id, token: "tok" });
    }
  });

  it("shows its proof's states (attempts, the next attempt's time, the last error) while connect stays pending, and sends no connect", async () => {
    const { kaleyra, ws, settled } = proving();
    ws.receive(proofState({ status: "connecting", lastError: "user_not_found", nextAttemptAt: 5_000 }));
    expect(kaleyra.state.value).toMatchObject({ status: "connecting", tokenAttempt: 1, lastError: "user_not_found", nextAttemptAt: 5_000, transport: "open" });
    ws.receive(proofState({ status: "reconnecting", tokenAttempt: 1, reconnectAttempt: 3, lastError: "unavailable" }));
    expect(kaleyra.state.value).toMatchObject({ status: "reconnecting", reconnectAttempt: 3, lastError: "unavailable" });
    await settle();
    expect(ws.sent).toEqual([ASK]);
    expect(settled()).toBe("pending");
    expect(kaleyra.connectedUser).toBeUndefined();
  });

  it("a provider that never answers sends nothing more: the server times the attempt out; connect stays pending", async () => {
    const { ws, settled } = proving(vi.fn(() => new Promise<string>(() => {})));
    ws.receive({ type: "token_request", requestId: "n.1", userId: "alice", attempt: 1 });
    await settle();
    expect(ws.sent).toEqual([ASK]);
    expect(settled()).toBe("pending");
  });

  it.each([
    [{ error: "unsupported_version", reason: "unsupported_version" }, "unsupported_version"],
    [{ error: "user_inactive", reason: "user_inactive" }, "user_inactive"],
  ] as const)("a final proof state (%o) rejects connect with %s, shows disconnected with it, and does not retry", async (ended, code) => {
    const { kaleyra, server, timers, ws, connecting } = proving();
    ws.receive(proofState({ status: "disconnected", tokenAttempt: 0, ...ended }));
    await expect(connecting).rejects.toMatchObject({ code });
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", ...ended, transport: "idle", failure: { code } });
    const sockets = server.sockets.length;
    timers.advance(60_000);
    expect(server.sockets.length).toBe(sockets);
  });

  it.each(["auth_failed", "unavailable"])("a joining token refused with %s: a new socket after the backoff proves again; connect stays pending", async (code) => {
    const { kaleyra, server, timers, ws: first, settled } = proving();
    first.receive({ type: "error", code, message: "refused" });
    expect(first.closedByClient).toBe(1000);
    expect(kaleyra.state.value.transport).toBe("waiting");
    timers.advance(30_000);
    const second = server.last().accept();
    expect(second).not.toBe(first);
    second.receive(TOKEN_PROOF);
    await settle();
    expect(second.sent).toEqual([ASK]);
    expect(settled()).toBe("pending");
  });

  it("ignores auth_pending: its proof is still being checked", async () => {
    const { ws } = proving();
    ws.receive({ type: "error", code: "auth_pending", message: "wait" });
    expect(ws.closedByClient).toBeUndefined();
  });

  it("disconnect while it proves: the socket closes (ending its proof on the server) and connect rejects with disconnected", async () => {
    const { kaleyra, ws, connecting } = proving();
    await expect(kaleyra.disconnect()).resolves.toBeUndefined();
    await expect(connecting).rejects.toMatchObject({ code: "disconnected" });
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.state.value).toMatchObject({ status: "disconnected", transport: "idle" });
  });

  it("a disconnect never proves with a token (it would start a session): with nothing to prove it resolves", async () => {
    const { kaleyra, server, reload } = fakeClient();
    const provider = vi.fn(async () => "tok");
    const connecting = kaleyra.connect("alice", provider);
    connecting.catch(() => {});
    const first = server.last().accept();
    first.receive(TOKEN_PROOF);
    await settle();
    first.state({ status: "connected", mode: "token", userId: "alice" });
    await connecting;
    // A reloaded page with the saved user but no resume credential cannot prove it.
    const page = reload();
    const ending = page.disconnect();
    const ws = server.last().accept();
    ws.receive(TOKEN_PROOF);
    await expect(ending).resolves.toBeUndefined();
    expect(ws.sent).toEqual([]);
  });
});
