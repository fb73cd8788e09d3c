/**
 * The local Kaleyra emulator as one Durable Object (state in its SQLite storage). Served at
 * /emulator/* by dev/index.ts, and reached directly by the "emulator" remote (dev/remote.ts).
 * Also serves the Socket.IO endpoint (socket.ts) on hibernatable sockets, its heartbeat on the alarm.
 * Invariant: never deployed; the control API is unauthenticated.
 */
import { DurableObject } from "cloudflare:workers";
import { createEmulatorApp } from "./app";
import { FaultGate } from "./faults";
import { answerRelayRequest } from "./relay-events";
import { EmulatorSockets } from "./socket";
import type { EmulatorHost } from "./http";
import { EmulatorStore } from "./store";
import { sendWebhook } from "./webhooks";

/** `Env`: the bindings of the composition that runs it (the emulator itself reads none). */
export class KaleyraEmulator<Env = unknown> extends DurableObject<Env> {
  protected readonly store: EmulatorStore;
  private readonly gate: FaultGate;
  private readonly sockets: EmulatorSockets;
  private readonly app: ReturnType<typeof createEmulatorApp>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const store = new EmulatorStore(ctx.storage.sql, ctx.storage.kv);
    const now = () => Date.now() + store.clockOffsetMs();
    const sockets = new EmulatorSockets(
      { store, now },
      {
        accept: (ws) => ctx.acceptWebSocket(ws),
        sockets: () => ctx.getWebSockets(),
        realNow: () => Date.now(),
        wakeAt: async (at) => {
          const armed = await ctx.storage.getAlarm();
          if (armed === null || armed > at) await ctx.storage.setAlarm(at);
        },
      },
    );
    const host: EmulatorHost = {
      store,
      gate: new FaultGate(() => store.faults()),
      sockets,
      now,
      // Looked up at call time, so a subclass (or a test) can replace deliverWebhook.
      sendWebhook: (app, event, data) => sendWebhook({ store, now, deliver: (req) => this.deliverWebhook(req) }, app, event, data),
    };
    this.store = store;
    this.gate = host.gate;
    this.sockets = sockets;
    this.app = createEmulatorApp(host);
  }

  override async fetch(request: Request): Promise<Response> {
    return this.app.fetch(request);
  }

  // The Socket.IO endpoint's sockets are hibernatable: these handlers wake the object for them.

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // The relay's realistic requests (issue 14) are answered by relay-events.ts; the rest by socket.ts.
    if (answerRelayRequest(this.sockets, ws, message)) return;
    await this.sockets.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    // A close the emulator started (a dropped connection, an ended call) needs no answer.
    if (ws.readyState === WebSocket.CLOSED) return;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  override webSocketError(ws: WebSocket): void {
    this.webSocketClose(ws, 1006);
  }

  /** The heartbeat: the only use of the alarm. */
  override async alarm(): Promise<void> {
    await this.sockets.heartbeat();
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
