/**
 * Helpers for the fault-matrix tests (test/reliability/*.test.ts with the fake remote,
 * test/e2e/faults.test.ts with the emulator). Every wait is bounded.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { ServerFrame } from "../../core/protocol";
import type { SessionView } from "../../core/session";
import type { UserSession } from "../../durable-objects/UserSession";
import { advance, sessionNow, snapshot, storageOf, type SessionStub, type TestClient } from "../harness";

export { waitForSnapshot } from "../harness";

/** Moves the session clock to `at` (never backwards) and fires the alarm; the alarm must be armed. */
export async function fireAt(stub: SessionStub, at: number): Promise<void> {
  const now = await sessionNow(stub);
  if (at > now) await advance(stub, at - now);
  if (!(await runDurableObjectAlarm(stub))) throw new Error("no alarm was armed");
}

/** Delivers the alarm event again, as a runtime retry of an alarm that already ran would. */
export function redeliverAlarm(stub: SessionStub): Promise<void> {
  return runInDurableObject(stub, (o: UserSession) => o.alarm());
}

/** Every token request a set of clients received, in arrival order per client. */
export function tokenRequests(...clients: TestClient[]): Extract<ServerFrame, { type: "token_request" }>[] {
  return clients.flatMap((c) => c.ofType("token_request"));
}

/** Transitions into "connected" from another status, as a client saw them. */
export function connects(client: TestClient): number {
  let n = 0;
  let prev: SessionView["status"] | undefined;
  for (const f of client.ofType("state")) {
    if (f.state.status === "connected" && prev !== undefined && prev !== "connected") n += 1;
    prev = f.state.status;
  }
  return n;
}

/** What must not change when a fault is absorbed: the state, the armed alarm, the stored keys. */
export async function fingerprint(stub: SessionStub): Promise<string> {
  return JSON.stringify({ state: await snapshot(stub), storage: await storageOf(stub) });
}

export const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));
