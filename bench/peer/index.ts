/**
 * The benchmarks' peer worker (bench/peer/wrangler.toml), on the same local workerd as the
 * orchestrator, so each figure of the orchestrator has a figure of a known baseline beside it.
 *
 * - Room: a partyserver room with hibernation. On connect it sends one frame the size of the
 *   orchestrator's attach `state` frame, the peer of "socket open -> first state frame".
 *   URL: /parties/room/:name
 * - AlarmProbe: a bare Durable Object alarm loop. Each object re-arms its alarm at a random time
 *   (the client says the range) and, when it fires, sends its sockets `{scheduled, firedAt}`; the
 *   baseline of the session's schedule precision (which adds a state machine, storage writes and
 *   a token request on top of the same alarm). URL: /alarm/:name?minMs=&maxMs=
 * - HibernationProbe: counts how often its constructor ran (in storage), so a client can tell
 *   whether this workerd evicts an idle object that holds only hibernatable sockets.
 *   URL: /hibernation/:name
 */
import { DurableObject } from "cloudflare:workers";
import { routePartykitRequest, Server, type Connection } from "partyserver";

interface Env {
  Room: DurableObjectNamespace<Room>;
  ALARM_PROBE: DurableObjectNamespace<AlarmProbe>;
  HIBERNATION_PROBE: DurableObjectNamespace<HibernationProbe>;
}

/** The same shape and size as the orchestrator's first frame for a fresh session. */
const ATTACH_FRAME = JSON.stringify({
  type: "state",
  state: { status: "disconnected", tokenAttempt: 0, reconnectAttempt: 0, refreshing: false },
});

export class Room extends Server<Env> {
  static override options = { hibernate: true };

  override onConnect(connection: Connection): void {
    connection.send(ATTACH_FRAME);
  }

  override onMessage(connection: Connection, message: string | ArrayBuffer): void {
    if (message === "ping") connection.send("pong");
  }
}

export class AlarmProbe extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const minMs = Number(url.searchParams.get("minMs") ?? "1000");
    const maxMs = Number(url.searchParams.get("maxMs") ?? "2000");
    this.ctx.storage.kv.put("range", [minMs, maxMs]);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    await this.arm();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async alarm(): Promise<void> {
    const scheduled = this.ctx.storage.kv.get<number>("at");
    const frame = JSON.stringify({ type: "fired", scheduled, firedAt: Date.now() });
    for (const ws of this.ctx.getWebSockets()) ws.send(frame);
    if (this.ctx.getWebSockets().length > 0) await this.arm();
  }

  override async webSocketClose(): Promise<void> {
    if (this.ctx.getWebSockets().length === 0) await this.ctx.storage.deleteAlarm();
  }

  private async arm(): Promise<void> {
    const [minMs, maxMs] = this.ctx.storage.kv.get<[number, number]>("range") ?? [1000, 2000];
    const at = Date.now() + minMs + Math.floor(Math.random() * (maxMs - minMs + 1));
    this.ctx.storage.kv.put("at", at);
    await this.ctx.storage.setAlarm(at);
    const frame = JSON.stringify({ type: "armed", at });
    for (const ws of this.ctx.getWebSockets()) ws.send(frame);
  }
}

export class HibernationProbe extends DurableObject<Env> {
  private readonly constructions: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.constructions = (ctx.storage.kv.get<number>("constructions") ?? 0) + 1;
    ctx.storage.kv.put("constructions", this.constructions);
  }

  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify({ constructions: this.constructions }));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket): Promise<void> {
    ws.send(JSON.stringify({ constructions: this.constructions }));
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    const [, kind, name] = url.pathname.split("/");
    if (kind === "alarm" && name) return env.ALARM_PROBE.get(env.ALARM_PROBE.idFromName(name)).fetch(request);
    if (kind === "hibernation" && name) return env.HIBERNATION_PROBE.get(env.HIBERNATION_PROBE.idFromName(name)).fetch(request);
    return (await routePartykitRequest(request, env)) ?? new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
