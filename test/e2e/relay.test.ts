/**
 * The relay end to end (issue 14): Worker -> UserSession -> production adapter -> Socket.IO -> the
 * emulator. An event the emulator sends on alice's connection reaches both her clients; an emit from
 * one client goes to the emulator with an ack and comes back to that client alone.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, createUser } from "../../dev/emulator/testing";
import { alice, answerWithMinted, attachVia, registerApp } from "./stack";

afterEach(async () => {
  await call("PUT", "/control/realtime", { body: { connectRefusal: null, connectHang: false, stopPinging: false, tokenUpdateRefusal: null } });
});

describe("relay against the emulator", () => {
  it("an emulator event reaches every client as remote_event; an emit is acked to its sender only; one connection; a reload misses nothing", async () => {
    const app = await registerApp();
    await createUser(app, "alice");
    const first = await attachVia(app.appId, alice);
    first.send({ type: "connect", userId: "alice" });
    await answerWithMinted(first, app, "alice", 0);
    await first.waitForStatus("connected");
    const second = await attachVia(app.appId, alice);

    const sent = await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event: "user:status", data: { userId: "bob", status: "online" } } });
    expect(sent.json).toEqual({ event: "user:status", delivered: 1 });
    for (const c of [first, second]) {
      const event = await c.waitFor((x) => x.ofType("remote_event")[0], "the relayed event", 5_000);
      expect(event).toEqual({ type: "remote_event", seq: 1, name: "user:status", data: { userId: "bob", status: "online" } });
    }

    second.send({ type: "remote_emit", id: "m1", name: "chat:send", data: { text: "hi" } });
    expect(await second.waitFor((c) => c.ofType("remote_ack")[0], "the ack", 5_000)).toEqual({ type: "remote_ack", id: "m1", data: { echo: { text: "hi" } } });
    second.send({ type: "remote_emit", id: "m2", name: "switchboard:access_token:update", data: { accessToken: "forged" } });
    expect(await second.waitFor((c) => c.ofType("remote_ack")[1], "the refusal")).toMatchObject({ id: "m2", error: { code: "reserved_event" } });
    await new Promise((r) => setTimeout(r, 50)); // room for a stray ack to reach the other client
    expect(first.ofType("remote_ack")).toEqual([]);
    // Two clients, one Kaleyra connection.
    expect(((await call("GET", `/control/connections?appId=${app.appId}&userId=alice`)).json.connections as unknown[]).length).toBe(1);

    // A reload: the tab closes, Kaleyra speaks, the tab comes back with its resume credential and seq.
    const credential = second.ofType("resume").at(-1)!.credential;
    second.close();
    await call("POST", "/control/connections/emit", { body: { appId: app.appId, userId: "alice", event: "call:incoming", data: { roomId: "r1" } } });
    await first.waitFor((c) => c.ofType("remote_event")[1], "the second event", 5_000);
    const reloaded = await attachVia(app.appId, alice, { prove: false });
    reloaded.send({ type: "auth", resume: credential, since: 1 });
    const missed = await reloaded.waitFor((c) => c.ofType("remote_event")[0], "the missed event", 5_000);
    expect(missed).toEqual({ type: "remote_event", seq: 2, name: "call:incoming", data: { roomId: "r1" } });
    expect(reloaded.ofType("remote_gap")).toEqual([]);
  });
});
