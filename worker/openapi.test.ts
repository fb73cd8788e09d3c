import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "./app";

type Operation = { responses: Record<string, unknown>; requestBody?: unknown; operationId?: string; security?: unknown[] };
type Document = { openapi: string; servers?: { url: string }[]; security?: unknown[]; paths: Record<string, Record<string, Operation>> };

/** Every route the Worker's router has, as "METHOD /path/{param}"; middleware (paths with *) left out. */
function routesThatExist(): Set<string> {
  const routes = new Set<string>();
  for (const { method, path } of app.routes) {
    if (path.includes("*")) continue;
    // The socket route takes every method (non-GET answers 426); the document describes its GET.
    const m = method === "ALL" ? "GET" : method;
    routes.add(`${m} ${path.replace(/:([A-Za-z]+)/g, "{$1}")}`);
  }
  return routes;
}

async function document(): Promise<Document> {
  const res = await SELF.fetch("https://edge.test/openapi.json");
  expect(res.status).toBe(200);
  return res.json();
}

describe("GET /openapi.json", () => {
  it("is OpenAPI 3.1 and describes every route that exists, and no route that does not", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect([...documented].sort()).toEqual([...routesThatExist()].sort());
    // Not vacuous: the surface this project has.
    for (const r of ["GET /healthz", "PUT /v1/apps/{appId}", "GET /v1/apps/{appId}/socket", "POST /v1/webhooks/kaleyra/{appId}", "POST /v1/tenant/apps/{appId}/users/{userId}/tickets"]) {
      expect(documented).toContain(r);
    }
  });

  it("describes request bodies with the schemas that validate them, and the error shape", async () => {
    const doc = await document();
    const put = doc.paths["/v1/apps/{appId}"]!.put!;
    expect(JSON.stringify(put.requestBody)).toContain("#/components/schemas/AppPut");
    expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(["200", "201", "400", "401", "413"]));
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties?: Record<string, unknown>; additionalProperties?: unknown }> } }).components.schemas;
    expect(schemas.AppPut!.additionalProperties).toBe(false);
    expect(Object.keys(schemas.AppPut!.properties ?? {})).toEqual(
      expect.arrayContaining(["environment", "region", "retryPolicy", "serverTokens", "attachModes", "allowedOrigins", "maxSessions", "kaleyraApiKey", "attachTicketSecret"]),
    );
    expect(schemas.Error).toBeDefined();
    expect(JSON.stringify(doc.paths["/v1/apps/{appId}/socket"])).toContain("4404 app_id_invalid");
  });

  it("gives every operation a unique operationId and says how each is secured; its server is where it was fetched", async () => {
    const doc = await document();
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, ...op })));
    expect(operations.filter((op) => op.operationId === undefined).map((op) => op.at)).toEqual([]);
    expect(new Set(operations.map((op) => op.operationId)).size).toBe(operations.length);
    expect(doc.security).toBeUndefined();
    expect(operations.filter((op) => op.security === undefined).map((op) => op.at)).toEqual([]);
    const publicOps = operations.filter((op) => op.security?.length === 0).map((op) => op.at);
    // The push key is public on purpose: it is every page's applicationServerKey (docs/push.md).
    expect(publicOps.sort()).toEqual(["GET /healthz", "GET /openapi.json", "GET /v1/apps/{appId}/push", "GET /v1/apps/{appId}/socket"]);
    expect(doc.paths["/v1/webhooks/kaleyra/{appId}"]!.post!.security).toEqual([{ kaleyraSignature: [] }, { kaleyraRoomIdHmac: [] }]);
    expect(doc.servers).toEqual([{ url: "https://edge.test", description: expect.any(String) }]);
  });
});
