import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { KaleyraAdapter } from "../remote/kaleyra";
import { createApp, createUser, mint, resetEmulator, type TestApp } from "./emulator/testing";
import { EMULATOR_BASE_URL, localRemote } from "./remote";

let app: TestApp;

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
});

describe("localRemote", () => {
  it('"kaleyra" is the production adapter at Kaleyra\'s addresses', () => {
    const remote = localRemote({ ...env, REMOTE: "kaleyra" });
    expect(remote).toBeInstanceOf(KaleyraAdapter);
    expect((remote as KaleyraAdapter).baseUrl("production", "in")).toBe("https://api.in.bandyer.com");
  });

  it('"emulator" is the production adapter routed to the emulator object', async () => {
    const remote = localRemote({ ...env, REMOTE: "emulator" });
    expect((remote as KaleyraAdapter).baseUrl("production", "eu")).toBe(EMULATOR_BASE_URL);
    const { access_token } = await mint(app, "alice");
    const credential = { kind: "token", userId: "alice", token: access_token } as const;
    expect(await remote.openSession({ appId: app.appId, environment: "sandbox", region: "eu", credential, now: Date.now() })).toMatchObject({ ok: true, userId: "alice" });
  });

  it('"emulator" without the binding, and unknown names, are refused', () => {
    expect(() => localRemote({ ...env, REMOTE: "emulator", KALEYRA_EMULATOR: undefined })).toThrow(/KALEYRA_EMULATOR/);
    expect(() => localRemote({ ...env, REMOTE: "nope" })).toThrow(/REMOTE must be/);
  });
});
