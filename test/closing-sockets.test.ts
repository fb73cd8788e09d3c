/**
 * Sockets the session closed whose peer ignores the close (issue 20, break 2): they count against
 * the session until they are gone, and a quiet session drops them after a short deadline.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_UNPROVEN_SOCKETS } from "../core/attach";
import { CLOSE_DEADLINE_MS, MAX_CLOSING_SOCKETS } from "../core/closing-sockets";
import type { UserSession } from "../durable-objects/UserSession";
import { SESSION_ROUTE_HEADER } from "../durable-objects/session-route";
import { fakeRemoteControls } from "./fake-remote";
import { advance, APP_ID, attach, openDeafSocket, SANDBOX_EU, sessionStub, type SessionStub, type TestClient } from "./harness";
import { userSessionById } from "../durable-objects/stubs";

const alice = { kind: "token", userId: "alice" } as const;

afterEach(() => fakeRemoteControls.reset());

/** The sockets the runtime holds for the object, by readyState (1 open, 2 closing). */
const readyStates = (stub: SessionStub) => runInDurableObject(stub, (_o: UserSession, state) => state.getWebSockets().map((ws) => ws.readyState));

/** A deaf socket the session closes for breaking the frame rate: CLOSING until its peer answers, which it never does. */
async function closedDeafSocket(stub: SessionStub): Promise<TestClient> {
  const c = await openDeafSocket(stub, alice);
  for (let i = 0; i < 25; i++) c.send({ type: "auth", ticket: "x" });
  await c.waitFor((x) => x.ofType("error").some((e) => e.code === "rate_limited"), "rate_limited");
  return c;
}

describe("attack: a flood of sockets that ignore the session's close", () => {
  it("closing sockets count until they are gone: past 16, no new socket is made (plain 429 too_many_sockets)", async () => {
    const stub = await sessionStub(alice);
    // 8 wait; each further one pushes out the oldest waiting socket, which never answers the close.
    for (let i = 0; i < MAX_UNPROVEN_SOCKETS + MAX_CLOSING_SOCKETS; i++) await openDeafSocket(stub, alice);
    const states = await readyStates(stub);
    expect(states.filter((s) => s === WebSocket.CLOSING)).toHaveLength(MAX_CLOSING_SOCKETS);
    const route = JSON.stringify({ appId: APP_ID, appEpoch: "any", key: alice, app: SANDBOX_EU });
    const refused = await stub.fetch("http://session/socket", { headers: { Upgrade: "websocket", [SESSION_ROUTE_HEADER]: route } });
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(await refused.json()).toMatchObject({ error: { code: "too_many_sockets" } });
    expect(await readyStates(stub)).toHaveLength(states.length);
  });

  it(`a quiet session holding only closed sockets drops them ${CLOSE_DEADLINE_MS / 1_000} s after the close, answered or not`, async () => {
    const stub = await sessionStub(alice);
    await closedDeafSocket(stub);
    await closedDeafSocket(stub);
    expect(await readyStates(stub)).toEqual([WebSocket.CLOSING, WebSocket.CLOSING]);
    await advance(stub, CLOSE_DEADLINE_MS);
    // The object restarts to drop them: the alarm fails (and the runtime retries it).
    await expect(runDurableObjectAlarm(stub)).rejects.toThrow(/ignore the close/);
    const restarted = userSessionById(env, stub.id.toString());
    expect(await readyStates(restarted)).toEqual([]);
  });

  it("a session with a client keeps its closed sockets (within the limit) and loses nothing", async () => {
    const stub = await sessionStub(alice);
    const owner = await attach(stub, alice);
    await closedDeafSocket(stub);
    await advance(stub, CLOSE_DEADLINE_MS);
    await runDurableObjectAlarm(stub);
    expect((await readyStates(stub)).sort()).toEqual([WebSocket.OPEN, WebSocket.CLOSING]);
    expect(owner.closed).toBe(false);
  });
});
