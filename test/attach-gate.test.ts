/**
 * The attach gate against a hostile client (issue: attach security). Every test is an attack, and
 * fails when the rule it pins is broken. Sessions are reached as the Worker routes them.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AppSettings } from "../core/app";
import { PROOF_DEADLINE_MS } from "../core/attach";
import { MAX_FRAME_BYTES } from "../core/protocol";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { apps } from "../durable-objects/apps";
import { appState } from "../durable-objects/stubs";
import { advance, APP_ID, attach, openSocket, SANDBOX_EU, sessionNow, sessionStub, snapshot, storageOf, TICKET_SECRET, waitForSnapshot, type SessionStub, type TestClient } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const HOUR = 3_600_000;
/** The app has a server-side token source (Kaleyra's credentials call with its API key). */
const WITH_SERVER_TOKENS: AppSettings = { ...SANDBOX_EU, serverTokens: { source: "kaleyra_api", order: "first" } };

beforeAll(async () => {
  await openSocket(await sessionStub(alice), alice); // registers the test app
  const put = await apps(env).putApp(APP_ID, SANDBOX_EU, { attachTicketSecret: TICKET_SECRET, kaleyraApiKey: "ak_test_gate_0123456789" });
  if (!put.ok) throw new Error(put.error.code);
});
afterEach(() => fakeRemoteControls.reset());

const good = async (stub: SessionStub) => fakeToken("alice", (await sessionNow(stub)) + HOUR);
const errors = (c: TestClient) => c.ofType("error").map((e) => e.code);
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));
/** What an unproven socket may ever see: the proof request, errors, its own proof's token requests and states. */
const learned = (c: TestClient) => c.frames.filter((f) => !["auth_required", "error", "token_request"].includes(f.type) && !(f.type === "state" && f.proof === true));

async function connectedOwner(app: AppSettings = SANDBOX_EU) {
  const stub = await sessionStub(alice);
  const owner = await attach(stub, alice, app);
  owner.send({ type: "connect", userId: "alice" });
  const request = await owner.nextTokenRequest();
  owner.send({ type: "token", requestId: request.requestId, token: await good(stub) });
  await owner.waitForStatus("connected");
  return { stub, owner };
}

describe("invariant 1: proof first", () => {
  it("the reported attack fails: connect, a token for the next request id, a failure for the current one", async () => {
    const stub = await sessionStub(alice);
    const attacker = await openSocket(stub, alice, WITH_SERVER_TOKENS);
    attacker.send({ type: "connect", userId: "alice" });
    await attacker.waitFor((c) => c.ofType("error").length === 1, "the connect refused");
    attacker.send({ type: "token", requestId: "0000000.2", token: "junk" });
    attacker.send({ type: "token_failed", requestId: "0000000.1" });
    await attacker.waitFor((c) => c.ofType("error").length === 3, "every frame refused");
    expect(errors(attacker)).toEqual(["auth_required", "auth_required", "auth_required"]);
    expect((await snapshot(stub)).status).toBe("disconnected");
    expect(fakeRemoteControls.minted).toEqual([]); // the server-side source was never asked
    expect(learned(attacker)).toEqual([]);
  });

  it("against a running session: the stranger cannot join, disconnect or clear it, and learns nothing of it", async () => {
    const { stub, owner } = await connectedOwner();
    const before = await snapshot(stub);
    const stranger = await openSocket(stub, alice);
    for (const frame of [{ type: "connect", userId: "alice" }, { type: "disconnect", clearSavedData: true }, { type: "token", requestId: before.nonce + ".9", token: "x" }] as const) stranger.send(frame);
    await stranger.waitFor((c) => c.ofType("error").length === 3, "three refusals");
    expect(errors(stranger)).toEqual(["auth_required", "auth_required", "auth_required"]);
    await stub.remoteTokenExpired(); // a refresh: the owner gets a broadcast and a token request
    await owner.nextTokenRequest(1);
    expect(stranger.frames.filter((f) => f.type !== "error")).toEqual([{ type: "auth_required", modes: ["token", "resume", "ticket"] }]);
    expect((await snapshot(stub)).status).toBe("connected");
  });
});

describe("invariant 2: a first device's token proves it and connects the session in one step", () => {
  it("costs exactly one token and one remote open, and the socket becomes a client with a resume credential", async () => {
    const stub = await sessionStub(alice);
    const device = await openSocket(stub, alice);
    device.send({ type: "auth", token: await good(stub) });
    expect(await device.waitForStatus("connected")).toMatchObject({ userId: "alice" });
    await device.waitFor((c) => c.ofType("resume")[0], "a resume credential");
    expect(fakeRemoteControls.opened).toHaveLength(1);
    expect(device.ofType("token_request")).toEqual([]);
  });

  it("once proven it is a real session: the tenant's list shows it connected, with its user", async () => {
    const carol = { kind: "token", userId: "carol-listed" } as const;
    const stub = await sessionStub(carol);
    const device = await openSocket(stub, carol);
    device.send({ type: "auth", token: fakeToken(carol.userId, (await sessionNow(stub)) + HOUR) });
    await device.waitForStatus("connected");
    const listed = await waitFor(async () => {
      const page = await appState(env, APP_ID).listSessions("connected", undefined, 1_000);
      return page.sessions.find((x) => x.userId === carol.userId);
    }, "listed connected");
    expect(listed).toMatchObject({ status: "connected", kind: "token", userId: carol.userId });
  });

  it("retries with the prover as the only source: another waiting socket and the server-side source are never asked", async () => {
    const stub = await sessionStub(alice);
    const prover = await openSocket(stub, alice, WITH_SERVER_TOKENS);
    const bystander = await openSocket(stub, alice, WITH_SERVER_TOKENS);
    prover.send({ type: "auth", token: "refused-token" });
    const s = await waitFor(async () => (await snapshot(stub)).nextTokenAttemptAt, "attempt 2 scheduled");
    await advance(stub, s - (await sessionNow(stub)));
    await runDurableObjectAlarm(stub);
    const request = await prover.nextTokenRequest();
    expect(request.attempt).toBe(2);
    prover.send({ type: "token", requestId: request.requestId, token: await good(stub) });
    await prover.waitForStatus("connected");
    expect(fakeRemoteControls.minted).toEqual([]);
    expect(learned(bystander)).toEqual([]);
    expect(bystander.ofType("token_request")).toEqual([]);
    // Proven, it is a real session: the app's server-side source now serves its refreshes.
    await stub.remoteTokenExpired();
    await waitFor(async () => fakeRemoteControls.minted.length > 0, "the server-side source asked");
    expect(fakeRemoteControls.minted).toEqual(["alice"]);
  });

  it("three refused tokens: the schedule goes on (reconnecting) with the prover alone, which sees only its own proof; no route stored", async () => {
    const stub = await sessionStub(alice);
    const prover = await openSocket(stub, alice, WITH_SERVER_TOKENS);
    prover.send({ type: "auth", token: "refused-1" });
    for (const n of [0, 1]) {
      const at = await waitFor(async () => (await snapshot(stub)).nextTokenAttemptAt, `attempt ${n + 2} scheduled`);
      await advance(stub, at - (await sessionNow(stub)));
      await runDurableObjectAlarm(stub);
      const request = await prover.nextTokenRequest(n);
      prover.send({ type: "token", requestId: request.requestId, token: `refused-${n + 2}` });
    }
    const view = await prover.waitFor((c) => c.lastState()?.status === "reconnecting" && c.lastState(), "reconnecting");
    expect(view).toMatchObject({ reconnectAttempt: 1, tokenAttempt: 1, lastError: "token_invalid" });
    expect(prover.ofType("state").every((f) => f.proof === true)).toBe(true);
    expect(prover.ofType("error")).toEqual([]);
    expect((await prover.nextTokenRequest(2)).attempt).toBe(1); // reconnect 1's token cycle, asked of the prover
    expect((await storageOf(stub)).keys).not.toContain("route");
    expect(fakeRemoteControls.minted).toEqual([]);
    expect(learned(prover)).toEqual([]);
  });

  it("Kaleyra unreachable: the reconnect schedule runs for the prover (no error); the prover leaving ends it with nothing left", async () => {
    fakeRemoteControls.outage = "refuse";
    const stub = await sessionStub(alice);
    const prover = await openSocket(stub, alice, WITH_SERVER_TOKENS);
    prover.send({ type: "auth", token: await good(stub) });
    expect(await prover.waitFor((c) => c.lastState()?.status === "reconnecting" && c.lastState(), "reconnecting")).toMatchObject({ lastError: "unavailable" });
    expect(prover.ofType("error")).toEqual([]);
    expect(fakeRemoteControls.minted).toEqual([]);
    prover.close();
    const s = await waitForSnapshot(stub, (x) => x.status === "disconnected", "the proof ended");
    expect(s.nextReconnectAt).toBeUndefined();
    expect((await storageOf(stub)).alarmAt).toBeUndefined();
  });
});

describe("invariant 4: unproven sockets hold nothing", () => {
  it("a waiting socket is closed at its proof deadline by the alarm (auth_timeout, 4401); clients stay", async () => {
    const { stub, owner } = await connectedOwner();
    const idle = await openSocket(stub, alice);
    let code = 0;
    idle.ws.addEventListener("close", (e) => {
      code = e.code;
    });
    await advance(stub, PROOF_DEADLINE_MS);
    await runDurableObjectAlarm(stub);
    await idle.waitFor((c) => c.closed, "closed");
    expect(code).toBe(4401);
    expect(errors(idle)).toEqual(["auth_timeout"]);
    expect(owner.closed).toBe(false);
  });

  it("32 sockets that connect and leave, and failed proofs, take no session slot and do not lock the user out", async () => {
    const limited: AppSettings = { ...SANDBOX_EU, maxSessions: 1 };
    await apps(env).takeAppSessions(APP_ID); // slots held by other tests of this file
    const stub = await sessionStub(alice);
    for (let i = 0; i < 32; i++) {
      const s = await openSocket(stub, alice, limited);
      s.send({ type: "connect", userId: "alice" });
      if (i % 4 === 0) s.send({ type: "auth", token: `refused-${i}` });
      s.close();
    }
    const owner = await attach(stub, alice, limited);
    owner.send({ type: "connect", userId: "alice" });
    const request = await owner.nextTokenRequest();
    owner.send({ type: "token", requestId: request.requestId, token: await good(stub) });
    await owner.waitForStatus("connected");
  });
});

describe("invariant 5: the close handshake is answered", () => {
  it("a client's plain close completes at once, and the socket stops counting", async () => {
    const { stub, owner } = await connectedOwner();
    expect((await stub.describe()).clients).toBe(1);
    const started = Date.now();
    owner.ws.close();
    // Unanswered, the client's close takes the runtime's 10 s timeout.
    await owner.waitFor((c) => c.closed, "the close completed", 2_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await stub.describe()).clients).toBe(0);
  });
});

describe("invariant 6: binary frames", () => {
  it("an oversized binary frame closes the socket with 1009 (frame_too_large); a small one is refused and changes nothing", async () => {
    const { stub, owner } = await connectedOwner();
    const before = await snapshot(stub);
    owner.sendRaw(new Uint8Array(16).buffer);
    expect(await owner.waitFor((c) => c.ofType("error")[0], "refusal")).toMatchObject({ code: "invalid_frame", field: "binary" });
    expect(await snapshot(stub)).toEqual(before);
    let code = 0;
    owner.ws.addEventListener("close", (e) => {
      code = e.code;
    });
    owner.sendRaw(new Uint8Array(MAX_FRAME_BYTES + 1).buffer);
    await owner.waitFor((c) => c.closed, "closed");
    expect(code).toBe(1009);
    expect(errors(owner)).toContain("frame_too_large");
  });
});

describe("invariant 7: an access link proves only its own session", () => {
  const LINK = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/gate42";
  const link = { kind: "access_link", accessLink: LINK } as const;

  it("a variant of the link (host case, port, slash, query, fragment) proves the socket and connects the call", async () => {
    const stub = await sessionStub(link);
    const c = await openSocket(stub, link);
    expect(c.frames).toEqual([{ type: "auth_required", modes: ["access_link"] }]);
    c.send({ type: "connect", accessLink: "https://SANDBOX.bandyer.com:443/eu/direct-rest-call-handler/gate42/?dn=Bob#x" });
    expect(await c.waitForStatus("connected")).toMatchObject({ mode: "access_link", userId: "guest-gate42" });
  });

  it("another link does not prove a socket routed to this one; session frames before proof are auth_required", async () => {
    const stub = await sessionStub(link);
    const c = await openSocket(stub, link);
    c.send({ type: "disconnect", clearSavedData: true });
    c.send({ type: "connect", accessLink: LINK.replace("gate42", "gate43") });
    await c.waitFor((x) => x.ofType("error").length === 2, "two refusals");
    expect(c.ofType("error").map((e) => [e.code, e.field])).toEqual([["auth_required", undefined], ["auth_failed", "accessLink"]]);
    expect(learned(c)).toEqual([]);
    expect((await snapshot(stub)).status).toBe("disconnected");
  });
});

describe("invariant 10: deleting an app voids its resume credentials", () => {
  it("a credential of an idle session stops working once the app is deleted, even after it is registered again", async () => {
    const { stub, owner } = await connectedOwner();
    const credential = await owner.waitFor((c) => c.ofType("resume").at(-1)?.credential, "a credential");
    owner.send({ type: "disconnect" });
    await owner.waitForStatus("disconnected");
    // Before the delete it still works on the idle session.
    const before = await openSocket(stub, alice);
    before.send({ type: "auth", resume: credential });
    await before.waitFor((c) => c.ofType("state")[0], "proven");
    await apps(env).deleteApp(APP_ID);
    const again = await apps(env).putApp(APP_ID, SANDBOX_EU, { attachTicketSecret: TICKET_SECRET });
    if (!again.ok) throw new Error(again.error.code);
    const after = await openSocket(stub, alice, SANDBOX_EU, again.value.record.epoch);
    after.send({ type: "auth", resume: credential });
    expect(await after.waitFor((c) => c.ofType("error")[0], "refusal")).toMatchObject({ code: "auth_failed", field: "resume" });
    expect(learned(after)).toEqual([]);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 2_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await settle(5);
  }
}
