/**
 * The local push service as the local composition runs it (issue 21): one Durable Object,
 * `LocalPush`, serving dev/push-service.ts's RFC 8030 service at `/push/:id` and its control routes
 * at `/push-control/*` of this Worker's own origin, plus a stand-in tenant backend that records the
 * signed wake webhooks it gets (`POST /push-control/tenant-wake`, read with GET). Sessions reach it in
 * process (localPushFetch), as the emulator's webhooks reach the orchestrator, so it works in tests
 * (no port) and under `npm start` (any port) alike.
 * Invariants: nothing here is deployed (wrangler.toml has no such class); a subscription's keys are
 * kept in the object's storage, so a restart still decrypts; what arrived is kept in memory, the
 * last MAX_KEPT pushes.
 */
import { DurableObject } from "cloudflare:workers";
import { LocalPushService, pushServiceRoutes, type SavedSubscription } from "./push-service";

export const LOCAL_PUSH_OBJECT = "local-push";
/** Enough for the bench's waves (bench/metrics/wake.mjs). */
const MAX_KEPT = 2_000;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

interface LocalPushEnv {
  LOCAL_PUSH?: DurableObjectNamespace<LocalPush>;
}

/** Whether a request goes to the local push service (or its tenant stand-in) rather than out. */
function isLocalPushUrl(url: string, extraHosts: readonly string[] = []): boolean {
  const { hostname, pathname } = new URL(url);
  return (LOOPBACK.has(hostname) || extraHosts.includes(hostname)) && (pathname.startsWith("/push/") || pathname === "/push-control/tenant-wake");
}

/** The sessions' fetch for wakes: the local push service in process, anything else out as usual. */
export function localPushFetch(env: LocalPushEnv, extraHosts: readonly string[] = []): (request: Request) => Promise<Response> {
  return (request) => {
    if (!env.LOCAL_PUSH || !isLocalPushUrl(request.url, extraHosts)) return fetch(request);
    return env.LOCAL_PUSH.get(env.LOCAL_PUSH.idFromName(LOCAL_PUSH_OBJECT)).fetch(request);
  };
}

interface TenantWake {
  signature: string | null;
  body: string;
  at: number;
}

export class LocalPush extends DurableObject {
  /** One service per origin the pushes are addressed to (the JWT's `aud` must be it). */
  private readonly services = new Map<string, LocalPushService>();
  private readonly tenantWakes: TenantWake[] = [];
  private restored?: Promise<void>;

  override async fetch(request: Request): Promise<Response> {
    await (this.restored ??= this.restore());
    const url = new URL(request.url);
    if (url.pathname === "/push-control/tenant-wake") return this.tenantWake(request);
    const service = this.service(url.origin);
    const answer = await pushServiceRoutes(service).fetch(request);
    if (request.method === "POST" && url.pathname === "/push-control/subscriptions" && answer.status === 201) {
      const { id } = (await answer.clone().json()) as { id: string };
      const saved = await service.saved(id);
      if (saved) this.ctx.storage.kv.put(`sub:${url.origin}:${id}`, saved);
    }
    for (const list of [service.received, service.refused]) list.splice(0, Math.max(0, list.length - MAX_KEPT));
    return answer;
  }

  private service(origin: string): LocalPushService {
    let service = this.services.get(origin);
    if (!service) {
      service = new LocalPushService(origin);
      this.services.set(origin, service);
    }
    return service;
  }

  private async restore(): Promise<void> {
    for (const [key, saved] of this.ctx.storage.kv.list<SavedSubscription>({ prefix: "sub:" })) {
      const origin = key.slice(4, key.lastIndexOf(":"));
      await this.service(origin).restore(saved);
    }
  }

  /** The tenant's backend, standing in: records each signed wake (POST), lists them (GET). */
  private async tenantWake(request: Request): Promise<Response> {
    if (request.method === "GET") return Response.json({ wakes: this.tenantWakes });
    if (request.method !== "POST") return new Response(null, { status: 405 });
    this.tenantWakes.push({ signature: request.headers.get("kaleyra-edge-signature"), body: await request.text(), at: Date.now() });
    this.tenantWakes.splice(0, Math.max(0, this.tenantWakes.length - MAX_KEPT));
    return new Response(null, { status: 204 });
  }
}
