/**
 * The control API: local only and unauthenticated (the emulator never runs deployed). Creates apps,
 * sets webhook URLs, injects faults, moves the clock, shows the webhook outbox, resets everything
 * (closing every realtime socket), ends a room's call or rings one, announced as Kaleyra's v0 webhooks
 * do (`on_call_ended`, `on_call_incoming`, signed with `room-id-hmac`); the realtime endpoint's
 * controls are in socket-control.ts.
 * Invariant: every body is validated; a refused request changes nothing.
 */
import { Hono } from "hono";
import { isAppId } from "../../core/app";
import { parseFaults } from "./faults";
import { errorJson, isHttpUrl, jsonObject, type EmulatorEnv, type EmulatorHost } from "./http";
import { endCall, roomJson } from "./rest";
import { randomSecret, type AppRow } from "./store";
import { outboxJson, V0_CALL_ENDED, V0_CALL_INCOMING } from "./webhooks";
import { socketControlRoutes } from "./socket-control";

const API_KEY_PATTERN = /^ak_(test|live)_[A-Za-z0-9_]{8,120}$/;
const MAX_CLOCK_OFFSET_MS = 10 * 365 * 86_400_000;

function appJson(app: AppRow) {
  return { appId: app.app_id, apiKey: app.api_key, companyId: app.company_id, signingSecret: app.signing_secret, webhookUrl: app.webhook_url };
}

export function controlRoutes(host: EmulatorHost): Hono<EmulatorEnv> {
  const { store, gate } = host;
  const control = new Hono<EmulatorEnv>();

  control.post("/apps", async (c) => {
    const body = await jsonObject(c, ["appId", "apiKey", "signingSecret"]);
    if (!body.ok) return body.response;
    const { appId, apiKey, signingSecret } = body.value;
    if (!isAppId(appId)) return errorJson(c, 400, "bad_request", "appId must look like mAppId_<1..64 letters, digits, _ or ->", "appId");
    if (apiKey !== undefined && (typeof apiKey !== "string" || !API_KEY_PATTERN.test(apiKey))) {
      return errorJson(c, 400, "bad_request", "apiKey must look like ak_test_<8..120 letters, digits or _> (or ak_live_)", "apiKey");
    }
    if (signingSecret !== undefined && (typeof signingSecret !== "string" || signingSecret.length < 16 || signingSecret.length > 256)) {
      return errorJson(c, 400, "bad_request", "signingSecret must be a string of 16..256 characters", "signingSecret");
    }
    if (store.app(appId)) return errorJson(c, 409, "app_already_exists", `app '${appId}' already exists`, "appId");
    const key = (apiKey as string | undefined) ?? `ak_test_${randomSecret().slice(0, 32)}`;
    if (store.appByKey(key)) return errorJson(c, 409, "api_key_in_use", "another app has this API key", "apiKey");
    const app: AppRow = {
      app_id: appId,
      api_key: key,
      company_id: crypto.randomUUID(),
      signing_secret: (signingSecret as string | undefined) ?? randomSecret(),
      webhook_url: null,
      created_at: host.now(),
    };
    store.insertApp(app);
    return c.json(appJson(app), 201);
  });

  control.get("/apps/:appId", (c) => {
    const app = store.app(c.req.param("appId"));
    return app ? c.json(appJson(app)) : errorJson(c, 404, "app_not_found", "no such app");
  });

  control.put("/apps/:appId/webhook", async (c) => {
    const app = store.app(c.req.param("appId"));
    if (!app) return errorJson(c, 404, "app_not_found", "no such app");
    const body = await jsonObject(c, ["url"]);
    if (!body.ok) return body.response;
    const { url } = body.value;
    if (url !== null && !isHttpUrl(url)) return errorJson(c, 400, "bad_request", "url must be an http(s) URL, or null to stop webhooks", "url");
    store.setWebhookUrl(app.app_id, url);
    return c.json(appJson({ ...app, webhook_url: url }));
  });

  control.get("/faults", (c) => c.json(store.faults()));

  control.put("/faults", async (c) => {
    const body = await jsonObject(c, ["outage", "latencyMs", "errorRate", "tokenLifetimeSec"]);
    if (!body.ok) return body.response;
    const parsed = parseFaults(body.value);
    if (!parsed.ok) return errorJson(c, 400, "bad_request", parsed.message, parsed.field);
    store.setFaults(parsed.faults);
    gate.release();
    return c.json(parsed.faults);
  });

  control.get("/clock", (c) => c.json({ offsetMs: store.clockOffsetMs(), now: host.now() }));

  control.put("/clock", async (c) => {
    const body = await jsonObject(c, ["offsetMs"]);
    if (!body.ok) return body.response;
    const { offsetMs } = body.value;
    if (!Number.isInteger(offsetMs) || Math.abs(offsetMs as number) > MAX_CLOCK_OFFSET_MS) {
      return errorJson(c, 400, "bad_request", `offsetMs must be an integer within ±${MAX_CLOCK_OFFSET_MS}`, "offsetMs");
    }
    store.setClockOffsetMs(offsetMs as number);
    return c.json({ offsetMs, now: host.now() });
  });

  control.get("/webhooks", (c) => {
    const appId = c.req.query("appId");
    return c.json({ webhooks: store.outbox(appId).map(outboxJson) });
  });

  control.post("/apps/:appId/rooms/:roomId/end-call-v0", async (c) => {
    const app = store.app(c.req.param("appId"));
    if (!app) return errorJson(c, 404, "app_not_found", "no such app");
    const room = store.room(app.app_id, c.req.param("roomId"));
    if (!room) return errorJson(c, 404, "room_not_found", "no such room");
    if (room.ended_at !== null) return errorJson(c, 409, "room_already_ended", "the room has already ended");
    const ended = endCall(host, app, room);
    await host.sendWebhook(app, V0_CALL_ENDED, { room_id: room.room_id });
    return c.json(roomJson(ended, store.participants(room.room_id)));
  });

  // A call rings in the room: Kaleyra's v0 webhook names only the room (docs/push.md says how the
  // orchestrator finds whom to wake). The room must be live; nothing about it changes.
  control.post("/apps/:appId/rooms/:roomId/incoming-call-v0", async (c) => {
    const app = store.app(c.req.param("appId"));
    if (!app) return errorJson(c, 404, "app_not_found", "no such app");
    const room = store.room(app.app_id, c.req.param("roomId"));
    if (!room) return errorJson(c, 404, "room_not_found", "no such room");
    if (room.ended_at !== null) return errorJson(c, 409, "room_already_ended", "the room has already ended");
    await host.sendWebhook(app, V0_CALL_INCOMING, { room_id: room.room_id });
    return c.json(roomJson(room, store.participants(room.room_id)));
  });

  control.delete("/webhooks", (c) => {
    store.clearOutbox();
    return c.body(null, 204);
  });

  control.route("/", socketControlRoutes(host));

  control.post("/reset", (c) => {
    for (const { ws } of host.sockets.list()) ws.close(1001, "emulator reset");
    store.reset();
    store.ensureDemoApp(host.now());
    gate.release();
    return c.body(null, 204);
  });

  return control;
}
