/**
 * The emulator's HTTP surface: Kaleyra's REST API v2 at /v2, its v1 room routes at /rest, the
 * Socket.IO endpoint at /sdk/socket/,
 * the local control API at /control (see
 * docs/remote.md).
 * Invariants: the HTTP faults apply to /v2, /rest and /sdk only, before authentication; the
 * demo app exists before any route runs.
 */
import { Hono } from "hono";
import { controlRoutes } from "./control";
import { relayEventRoutes } from "./relay-events";
import { errorJson, type EmulatorEnv, type EmulatorHost } from "./http";
import { restRoutes, restV1RoomRoutes } from "./rest";
import { DEMO_API_KEY, DEMO_APP_ID } from "./store";

export function createEmulatorApp(host: EmulatorHost): Hono<EmulatorEnv> {
  const app = new Hono<EmulatorEnv>();

  app.use("*", async (_c, next) => {
    host.store.ensureDemoApp(host.now());
    await next();
  });

  const faulted = async (c: Parameters<Parameters<typeof app.use>[1]>[0], next: () => Promise<void>) => {
    // Read (and cache) the body first: a held request's client may be gone by the time it is released.
    if (c.req.method !== "GET" && c.req.method !== "HEAD") await c.req.text();
    if ((await host.gate.admit()) === "unavailable") return errorJson(c, 503, "unavailable", "the service is unavailable (injected fault)");
    await next();
  };
  app.use("/v2/*", faulted);
  app.use("/rest/*", faulted);
  app.use("/sdk/*", faulted);

  app.get("/", (c) =>
    c.json({ name: "kaleyra-emulator", demo: { appId: DEMO_APP_ID, apiKey: DEMO_API_KEY }, docs: "docs/remote.md" }),
  );
  app.route("/v2", restRoutes(host));
  app.route("/rest", restV1RoomRoutes(host));
  app.get("/sdk/socket/", (c) => host.sockets.upgrade(c.req.raw));
  app.get("/sdk/socket", (c) => host.sockets.upgrade(c.req.raw));
  app.route("/control/relay", relayEventRoutes(host));
  app.route("/control", controlRoutes(host));

  app.notFound((c) => errorJson(c, 404, "not_found", `nothing at ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((err, c) => {
    console.error("emulator error", String(err));
    return errorJson(c, 500, "internal_error", "the emulator failed to handle the request");
  });
  return app;
}
