/**
 * The local Kaleyra emulator as one Durable Object (state in its SQLite storage). Served at
 * /emulator/* by dev/index.ts, and reached directly by the "emulator" remote (remote/index.ts).
 * Invariant: never deployed; the control API is unauthenticated.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../worker/env";
import { createEmulatorApp } from "./app";
import { FaultGate } from "./faults";
import type { EmulatorHost } from "./http";
import { EmulatorStore } from "./store";
import { sendWebhook } from "./webhooks";

export { EMULATOR_OBJECT_NAME } from "./name";

export class KaleyraEmulator extends DurableObject<Env> {
  protected readonly store: EmulatorStore;
  private readonly gate: FaultGate;
  private readonly app: ReturnType<typeof createEmulatorApp>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const store = new EmulatorStore(ctx.storage.sql, ctx.storage.kv);
    const now = () => Date.now() + store.clockOffsetMs();
    const host: EmulatorHost = {
      store,
      gate: new FaultGate(() => store.faults()),
      now,
      // Looked up at call time, so a subclass (or a test) can replace deliverWebhook.
      sendWebhook: (app, event, data) => sendWebhook({ store, now, deliver: (req) => this.deliverWebhook(req) }, app, event, data),
    };
    this.store = store;
    this.gate = host.gate;
    this.app = createEmulatorApp(host);
  }

  override async fetch(request: Request): Promise<Response> {
    return this.app.fetch(request);
  }

  /** How many requests a "hang" outage holds right now (tests wait for a request to be held). */
  heldRequests(): number {
    return this.gate.heldCount;
  }

  /** Sends one signed webhook. Override to deliver in-process (tests, a local receiver). */
  protected deliverWebhook(request: Request): Promise<Response> {
    return fetch(request);
  }
}
