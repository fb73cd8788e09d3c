/**
 * Attach tickets (the `ticket` proof, core/ticket.ts): signed for the app's user, at most 5
 * minutes ahead, and accepted once per session (issue 20, item 7).
 */
import { afterEach, describe, expect, it } from "vitest";
import { fakeRemoteControls } from "./fake-remote";
import { advance, APP_ID, openSocket, SANDBOX_EU, sessionNow, sessionStub, storageOf, ticketFor, type TestClient } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;

afterEach(() => fakeRemoteControls.reset());

const refusal = (c: TestClient) => c.waitFor((x) => x.ofType("error")[0], "an error frame");
/** Nothing about the session reached the socket: only auth_required and refusals. */
const learnedNothing = (c: TestClient) => c.frames.every((f) => f.type === "auth_required" || f.type === "error");

describe("attach tickets", () => {
  it("an expired ticket fails", async () => {
    const c = await openSocket(await sessionStub(alice), alice);
    c.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice", -10) });
    expect((await refusal(c)).code).toBe("auth_failed");
  });

  it("a ticket signed with another secret fails", async () => {
    const c = await openSocket(await sessionStub(alice), alice);
    c.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice", 300, "not-the-app-secret-0123456789") });
    expect((await refusal(c)).code).toBe("auth_failed");
  });

  it("a ticket for another app fails", async () => {
    const c = await openSocket(await sessionStub(alice), alice);
    c.send({ type: "auth", ticket: await ticketFor("mAppId_other", "alice") });
    expect((await refusal(c)).code).toBe("auth_failed");
  });

  it("attack: an exp in milliseconds (about 50,000 years) or more than 5 minutes ahead is refused", async () => {
    const nowSec = Math.floor(Date.now() / 1_000);
    for (const exp of [Date.now() + 60_000, nowSec + 336]) {
      const c = await openSocket(await sessionStub(alice), alice);
      c.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice", 0, undefined, { exp }) });
      expect(await refusal(c)).toMatchObject({ code: "auth_failed", field: "ticket" });
    }
    // Within 5 minutes and the 30 s allowance for the tenant's clock: accepted.
    const ok = await openSocket(await sessionStub(alice), alice);
    ok.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice", 0, undefined, { exp: nowSec + 325 }) });
    await ok.waitFor((c) => c.ofType("state")[0], "proven");
  });

  it("a ticket without a jti is refused", async () => {
    const c = await openSocket(await sessionStub(alice), alice);
    c.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice", 300, undefined, { jti: undefined }) });
    expect(await refusal(c)).toMatchObject({ code: "auth_failed", field: "ticket" });
  });

  it("attack: a ticket's second use is refused, on another socket, and after a clear too", async () => {
    const stub = await sessionStub(alice);
    const ticket = await ticketFor(APP_ID, "alice");
    const first = await openSocket(stub, alice);
    first.send({ type: "auth", ticket });
    await first.waitFor((c) => c.ofType("state")[0], "proven");
    const replay = await openSocket(stub, alice);
    replay.send({ type: "auth", ticket });
    expect(await refusal(replay)).toMatchObject({ code: "auth_failed", field: "ticket" });
    first.send({ type: "disconnect", clearSavedData: true });
    await first.waitFor((c) => c.ofType("data_cleared")[0], "data_cleared");
    const afterClear = await openSocket(stub, alice);
    afterClear.send({ type: "auth", ticket });
    expect(await refusal(afterClear)).toMatchObject({ code: "auth_failed", field: "ticket" });
    expect(learnedNothing(replay) && learnedNothing(afterClear)).toBe(true);
  });

  it("a used ticket is remembered until it expires, then forgotten by the alarm: no storage stays", async () => {
    const stub = await sessionStub(alice);
    const c = await openSocket(stub, alice);
    c.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice", 60) });
    await c.waitFor((x) => x.ofType("state")[0], "proven");
    const { alarmAt, keys } = await storageOf(stub);
    expect(keys).toEqual(["usedTickets"]);
    expect(alarmAt).toBeLessThanOrEqual((await sessionNow(stub)) + 60_000);
    await advance(stub, 61_000);
    c.close();
    await c.waitFor((x) => x.closed, "closed");
    // The socket gone, the session re-armed its alarm for the (past) expiry: the runtime runs it now.
    // The test clock's own offset (durable-objects/clock.ts) is the only key left.
    const left = async () => {
      const s = await storageOf(stub);
      return { ...s, keys: s.keys.filter((k) => k !== "testClockOffsetMs") };
    };
    for (let i = 0; i < 100 && (await left()).keys.length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await left()).toEqual({ alarmAt: undefined, keys: [] });
  });

  it("a mode the app does not accept is refused", async () => {
    const c = await openSocket(await sessionStub(alice), alice, { ...SANDBOX_EU, attachModes: ["token"] });
    c.send({ type: "auth", ticket: await ticketFor(APP_ID, "alice") });
    expect(await refusal(c)).toMatchObject({ code: "auth_failed", field: "ticket" });
  });
});
