/**
 * How the client proves who it is when the server asks (auth_required): the link on a link
 * socket, the saved resume credential, else a token from the provider in an auth frame.
 */
import { describe, expect, it, vi } from "vitest";
import { fakeClient, settle } from "./testing";

const TOKEN_PROOF = { type: "auth_required", modes: ["token", "resume"] } as const;

describe("proving the user on a token socket", () => {
  it("with no resume credential asks the provider once and sends the token as the proof", async () => {
    const { kaleyra, server } = fakeClient();
    const provider = vi.fn(async () => "tok-1");
    void kaleyra.connect("alice", provider);
    const ws = server.last().accept();
    ws.receive(TOKEN_PROOF);
    await settle();
    expect(provider).toHaveBeenCalledTimes(1);
    expect(provider).toHaveBeenCalledWith({ userId: "alice" });
    expect(ws.sent).toEqual([{ type: "auth", token: "tok-1" }]);
    // Proven (the attach state): the client connects, which joins the session its token started.
    ws.state({ status: "connected", mode: "token", userId: "alice" });
    expect(ws.sent.at(-1)).toEqual({ type: "connect", userId: "alice" });
  });

  it("answers the token requests of its own proof (attempts 2 and 3) like any other", async () => {
    const { kaleyra, server } = fakeClient();
    const provider = vi.fn(async () => "tok");
    void kaleyra.connect("alice", provider);
    const ws = server.last().accept();
    ws.receive(TOKEN_PROOF);
    await settle();
    ws.receive({ type: "token_request", requestId: "n.2", userId: "alice", attempt: 2 });
    await settle();
    expect(ws.sent.at(-1)).toEqual({ type: "token", requestId: "n.2", token: "tok" });
  });

  it.each(["auth_failed", "unavailable"])("after %s opens a new socket after the backoff and proves again; connect stays pending", async (code) => {
    const { kaleyra, server, timers } = fakeClient();
    const provider = vi.fn(async () => "tok");
    const connecting = kaleyra.connect("alice", provider);
    let settled = false;
    void connecting.finally(() => (settled = true)).catch(() => {});
    const first = server.last().accept();
    first.receive(TOKEN_PROOF);
    await settle();
    first.receive({ type: "error", code, message: "refused" });
    expect(first.closedByClient).toBe(1000);
    expect(kaleyra.state.value.transport).toBe("waiting");
    timers.advance(30_000);
    const second = server.last().accept();
    expect(second).not.toBe(first);
    second.receive(TOKEN_PROOF);
    await settle();
    expect(provider).toHaveBeenCalledTimes(2);
    expect(second.sent).toEqual([{ type: "auth", token: "tok" }]);
    expect(settled).toBe(false);
  });

  it("a provider that fails before any session exists also waits for the backoff, sending nothing", async () => {
    const { kaleyra, server } = fakeClient();
    void kaleyra.connect("alice", async () => {
      throw new Error("no token");
    }).catch(() => {});
    const ws = server.last().accept();
    ws.receive(TOKEN_PROOF);
    await settle();
    expect(ws.sent).toEqual([]);
    expect(ws.closedByClient).toBe(1000);
    expect(kaleyra.state.value.transport).toBe("waiting");
  });

  it("ignores auth_pending: its proof is still being checked", async () => {
    const { kaleyra, server } = fakeClient();
    void kaleyra.connect("alice", async () => "tok");
    const ws = server.last().accept();
    ws.receive(TOKEN_PROOF);
    await settle();
    ws.receive({ type: "error", code: "auth_pending", message: "wait" });
    expect(ws.closedByClient).toBeUndefined();
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
