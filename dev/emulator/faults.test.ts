import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_FAULTS, FaultGate, HANG_CAP_MS, type Faults } from "./faults";
import { call, createApp, createUser, heldRequests, mint, resetEmulator, setFaults, settledWithin, waitUntil, type TestApp } from "./testing";

let app: TestApp;

beforeEach(async () => {
  await resetEmulator();
  app = await createApp();
  await createUser(app, "alice");
});

afterEach(async () => {
  vi.useRealTimers();
  // Also releases any request a failed test left held.
  await resetEmulator();
});

/** A credentials call: any faulted REST route behaves the same. */
const openWith = (_token: string) => call("POST", "/v2/sdk/credentials", { apiKey: app.apiKey, body: { user_id: "alice", expires_in: 3_600 } });

describe("outage refuse", () => {
  it("answers every /v2 call 503 unavailable, and /control still works", async () => {
    const { access_token } = await mint(app, "alice");
    await setFaults({ outage: "refuse" });
    for (const answer of [await call("GET", "/v2/users", { apiKey: app.apiKey }), await openWith(access_token)]) {
      expect(answer.status).toBe(503);
      expect(answer.json.error).toBe("unavailable");
    }
    expect((await call("GET", "/control/faults")).status).toBe(200);
  });

  it("comes before authentication: even a wrong key gets 503", async () => {
    await setFaults({ outage: "refuse" });
    expect((await call("GET", "/v2/users", { apiKey: "ak_test_wrong_key" })).status).toBe(503);
  });

  it("ends when the faults are set back to none", async () => {
    await setFaults({ outage: "refuse" });
    await setFaults({ outage: "none" });
    expect((await call("GET", "/v2/users", { apiKey: app.apiKey })).status).toBe(200);
  });
});

describe("errorRate", () => {
  it("errorRate 1 answers every call 503 and changes nothing", async () => {
    await setFaults({ errorRate: 1 });
    const answer = await call("POST", "/v2/users", { apiKey: app.apiKey, body: { user_id: "bob", role: "plus" } });
    expect(answer.status).toBe(503);
    expect(answer.json.error).toBe("unavailable");
    await setFaults({});
    expect((await call("GET", "/v2/users/bob", { apiKey: app.apiKey })).status).toBe(404);
  });

  it("errorRate 0 answers normally", async () => {
    await setFaults({ errorRate: 0 });
    expect((await call("GET", "/v2/users", { apiKey: app.apiKey })).status).toBe(200);
  });

  it("answers 503 with the given probability (gate with an injected random)", async () => {
    const draws = [0.2, 0.7];
    const gate = new FaultGate(() => ({ ...DEFAULT_FAULTS, errorRate: 0.5 }), () => draws.shift() ?? 0);
    expect(await gate.admit()).toBe("unavailable");
    expect(await gate.admit()).toBe("pass");
  });
});

describe("latency", () => {
  it("delays every answer by latencyMs", async () => {
    await setFaults({ latencyMs: 150 });
    const started = Date.now();
    expect((await call("GET", "/v2/users", { apiKey: app.apiKey })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("does not delay the control API", async () => {
    await setFaults({ latencyMs: 1_000 });
    const started = Date.now();
    await call("GET", "/control/faults");
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe("outage hang", () => {
  it("holds calls without an answer until the faults change, then answers them", async () => {
    const { access_token } = await mint(app, "alice");
    await setFaults({ outage: "hang" });
    const pending = openWith(access_token);
    await waitUntil(async () => (await heldRequests()) === 1, "the open to be held");
    expect(await settledWithin(pending, 100)).toBe("pending");
    await setFaults({ outage: "none" });
    const answer = await settledWithin(pending, 2_000);
    expect(answer).not.toBe("pending");
    expect(answer !== "pending" && answer.status).toBe(200);
  });

  it("a held call is judged again under the new faults: hang then refuse answers 503", async () => {
    await setFaults({ outage: "hang" });
    const pending = call("GET", "/v2/users", { apiKey: app.apiKey });
    await waitUntil(async () => (await heldRequests()) === 1, "the call to be held");
    await setFaults({ outage: "refuse" });
    const answer = await settledWithin(pending, 2_000);
    expect(answer !== "pending" && answer.status).toBe(503);
  });

  it("a reset releases held calls", async () => {
    await setFaults({ outage: "hang" });
    const pending = call("GET", "/v2/users", { apiKey: app.apiKey });
    await waitUntil(async () => (await heldRequests()) === 1, "the call to be held");
    await resetEmulator();
    const answer = await settledWithin(pending, 2_000);
    expect(answer !== "pending" && answer.status).toBe(401);
  });

  it(`gives up after ${HANG_CAP_MS / 1000} s and answers unavailable`, async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const faults: Faults = { ...DEFAULT_FAULTS, outage: "hang" };
    const gate = new FaultGate(() => faults);
    let outcome: string | undefined;
    void gate.admit().then((a) => (outcome = a));
    await vi.advanceTimersByTimeAsync(HANG_CAP_MS - 1);
    expect(outcome).toBeUndefined();
    expect(gate.heldCount).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBe("unavailable");
    expect(gate.heldCount).toBe(0);
  });
});
