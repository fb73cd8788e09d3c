/**
 * The proof phase against a hostile client (issue 17's review). Every test is the attack as it was
 * reproduced, and fails when the rule it pins is removed (docs/security.md, rows 11..14).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppSettings } from "../core/app";
import { MAX_TOKEN_CHECKS } from "../core/attach";
import { accessLinkDigest } from "../core/access-link";
import { MAX_FRAME_BYTES } from "../core/protocol";
import type { UserSession } from "../durable-objects/UserSession";
import { fakeRemoteControls, fakeToken } from "./fake-remote";
import { apps } from "../durable-objects/apps";
import { appState } from "../durable-objects/stubs";
import { APP_ID, attach, openSocket, SANDBOX_EU, sessionNow, sessionStub, waitForSnapshot, type SessionStub, type TestClient } from "./harness";

const alice = { kind: "token", userId: "alice" } as const;
const bob = { kind: "token", userId: "bob" } as const;
const HOUR = 3_600_000;
const ONE_SLOT: AppSettings = { ...SANDBOX_EU, maxSessions: 1 };

beforeEach(async () => {
  await openSocket(await sessionStub(alice), alice); // registers the test app
  await apps(env).takeAppSessions(APP_ID); // slots held by other tests of this file
});
afterEach(() => fakeRemoteControls.reset());

const tokenFor = async (stub: SessionStub, userId = "alice") => fakeToken(userId, (await sessionNow(stub)) + HOUR);
const listed = async () => (await appState(env, APP_ID).listSessions(undefined, undefined, 100)).sessions;
const until = async (check: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
};

async function connected(stub: SessionStub, key: typeof alice | typeof bob, app: AppSettings = SANDBOX_EU): Promise<TestClient> {
  const owner = await attach(stub, key, app);
  owner.send({ type: "connect", userId: key.userId });
  const r = await owner.nextTokenRequest();
  owner.send({ type: "token", requestId: r.requestId, token: await tokenFor(stub, key.userId) });
  await owner.waitForStatus("connected");
  return owner;
}

describe("a proof that succeeds while its socket is closing ends what it started", () => {
  it("auth {token}, then a 17 KB frame, the close ignored; Kaleyra accepts later: no connected session, no connection left, nothing in the tenant's list", async () => {
    fakeRemoteControls.hold = () => true; // Kaleyra is slow to answer
    const stub = await sessionStub(alice);
    const attacker = await openSocket(stub, alice, ONE_SLOT);
    // The attacker never completes the close handshake, so the session never hears the close: the
    // test's socket would answer it at once, so the object is made deaf to it instead.
    await runInDurableObject(stub, (o: UserSession) => {
      Object.assign(o, { webSocketClose: async () => {}, webSocketError: async () => {} });
    });
    attacker.send({ type: "auth", token: await tokenFor(stub) });
    await until(() => fakeRemoteControls.held.length === 1, "the CONNECT in flight");
    attacker.sendRaw("x".repeat(MAX_FRAME_BYTES + 1000)); // closed 1009 by the session; the attacker never answers the close
    await attacker.waitFor((c) => c.ofType("error").some((e) => e.code === "frame_too_large"), "frame_too_large");
    // Answered inside the object (a promise settled from the test would run its I/O here).
    fakeRemoteControls.hold = null;
    await runInDurableObject(stub, () => fakeRemoteControls.release());
    const s = await waitForSnapshot(stub, (x) => x.status === "disconnected" && x.pendingRemote === undefined, "the session ended");
    expect(s.remoteSessionId).toBeUndefined();
    await until(() => fakeRemoteControls.closed.size === 1, "Kaleyra's connection closed");
    expect(await listed()).toEqual([]);
    // The slot it did not keep is free: a real user connects.
    await connected(await sessionStub(bob), bob, ONE_SLOT);
  });
});

describe("anonymous sockets do not multiply into Kaleyra connections", () => {
  it("one proof in flight per socket: 15 auth {token} frames while Kaleyra hangs send one update, the rest auth_pending", async () => {
    const stub = await sessionStub(alice);
    await connected(stub, alice);
    fakeRemoteControls.outage = "hang";
    const stranger = await openSocket(stub, alice);
    const token = await tokenFor(stub);
    for (let i = 0; i < 15; i++) stranger.send({ type: "auth", token });
    await stranger.waitFor((c) => c.ofType("error").length === 14, "14 refusals");
    expect(new Set(stranger.ofType("error").map((e) => e.code))).toEqual(new Set(["auth_pending"]));
    expect(fakeRemoteControls.updated).toHaveLength(1);
    expect(fakeRemoteControls.opened).toHaveLength(1); // the owner's connect only
  });

  it(`at most ${MAX_TOKEN_CHECKS} token checks per session at once: 8 sockets, one token each, while Kaleyra hangs`, async () => {
    const stub = await sessionStub(alice);
    await connected(stub, alice);
    fakeRemoteControls.outage = "hang";
    const strangers = await Promise.all(Array.from({ length: 8 }, () => openSocket(stub, alice)));
    const token = await tokenFor(stub);
    for (const s of strangers) s.send({ type: "auth", token });
    await until(() => strangers.filter((s) => s.ofType("error").length > 0).length === 8 - MAX_TOKEN_CHECKS, "the refusals");
    expect(fakeRemoteControls.updated).toHaveLength(MAX_TOKEN_CHECKS);
    expect(strangers.flatMap((s) => s.ofType("error").map((e) => e.code))).toEqual(Array(8 - MAX_TOKEN_CHECKS).fill("unavailable"));
  });
});

describe("a link session claims its slot when Kaleyra accepts the link, not before", () => {
  it("three made-up links while Kaleyra is slow take no slot: a real user still connects (maxSessions 1)", async () => {
    fakeRemoteControls.hold = (c) => c.kind === "access_link";
    for (let i = 0; i < 3; i++) {
      const link = { kind: "access_link", accessLink: `https://sandbox.bandyer.com/eu/direct-rest-call-handler/madeup${i}` } as const;
      expect(await accessLinkDigest(link.accessLink)).toBeDefined();
      const c = await openSocket(await sessionStub(link), link, ONE_SLOT);
      c.send({ type: "connect", accessLink: link.accessLink });
      await c.waitFor((x) => x.lastState()?.status === "connecting", "connecting");
    }
    expect(fakeRemoteControls.held).toHaveLength(3);
    const owner = await connected(await sessionStub(alice), alice, ONE_SLOT);
    expect(owner.ofType("error")).toEqual([]);
    expect(await listed()).toMatchObject([{ kind: "token", userId: "alice" }]);
  });

  it("a link Kaleyra accepts takes its slot then (and is refused it when the app is full)", async () => {
    await connected(await sessionStub(alice), alice, ONE_SLOT);
    const link = { kind: "access_link", accessLink: "https://sandbox.bandyer.com/eu/direct-rest-call-handler/realcall" } as const;
    const stub = await sessionStub(link);
    const c = await openSocket(stub, link, ONE_SLOT);
    c.send({ type: "connect", accessLink: link.accessLink });
    expect(await c.waitFor((x) => x.ofType("error")[0], "refused")).toMatchObject({ code: "too_many_sessions" });
    expect(c.ofType("state").map((f) => f.state.status)).not.toContain("connected");
    await waitForSnapshot(stub, (s) => s.status === "disconnected", "ended");
  });
});

describe("a prover refused too_many_sessions", () => {
  it("never first receives state connected nor a resume credential, and leaves no connection", async () => {
    await connected(await sessionStub(bob), bob, ONE_SLOT); // the app's one slot
    const stub = await sessionStub(alice);
    const prover = await openSocket(stub, alice, ONE_SLOT);
    prover.send({ type: "auth", token: await tokenFor(stub) });
    expect(await prover.waitFor((c) => c.ofType("error")[0], "refused")).toMatchObject({ code: "too_many_sessions" });
    await waitForSnapshot(stub, (s) => s.status === "disconnected", "ended");
    expect(prover.ofType("state").map((f) => f.state.status)).not.toContain("connected");
    expect(prover.ofType("resume")).toEqual([]);
    await until(() => fakeRemoteControls.closed.size === 1, "its connection closed");
  });
});
