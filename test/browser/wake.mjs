// Waking a closed app (issue 21, docs/push.md) against `npm start`, for test/browser/run.mjs:
//   13. end to end, with raw-protocol clients (scripts/lib/wake-flow.mjs): an emulator call:incoming
//       for a user with no client attached reaches the local push service (which checks the VAPID
//       JWT and decrypts); with a client attached nothing is pushed; one call, one push; Kaleyra's
//       v0 on_call_incoming for a room the tenant indexed wakes its user too;
//   14. in Chromium: the demo page subscribes (the local push service standing in for the browser's:
//       headless Chromium cannot subscribe to a real push service offline, its pushManager asks the
//       vendor's service on the internet), the tab closes, the emulator rings, the push the local
//       service decrypted is delivered to the page's service worker with the DevTools protocol
//       (ServiceWorker.deliverPushMessage), which shows the notification; a click (what the worker
//       runs on notificationclick: headless Chromium has no notification to click, and only a real
//       click lets a worker open a window, so the test opens the URL the handler chose) opens the
//       page, which runs start() and rejoins the still-running session without a token, and draws
//       the wake.
import { connectClient, localSubscription, pushesTo, pushLog, registerWakeApp, ringRelayed, ringV0, roomFor, sleep, subscribeClient } from "../../scripts/lib/wake-flow.mjs";
import { assert, newPage, progress, until } from "./harness.mjs";

/** 13: the server's half, end to end. Answers the app (for 14). */
export async function wakeEndToEnd(base, run) {
  progress("13. a call for a user with no client attached reaches the push service; with a client, no push; one call, one push; v0 on_call_incoming");
  const app = await registerWakeApp(base, "dev-admin-token", `mAppId_wake_${run}`);
  const userId = "wake-e2e";
  const client = await connectClient(base, app, userId);
  const sub = await localSubscription(base, app);
  await subscribeClient(client, app, sub);

  await ringRelayed(base, app, userId, "attached-call");
  await client.waitFor("the relayed call:incoming", (f) => f.some((x) => x.type === "remote_event" && x.data?.callId === "attached-call"));
  await sleep(1_000);
  assert((await pushLog(base)).received.every((r) => r.subscriptionId !== sub.id), "a push went out while a client was attached");
  progress("  client attached: the page heard the event itself; no push");

  await client.close();
  await sleep(300);
  const rangAt = Date.now();
  await ringRelayed(base, app, userId, "call-1");
  const [push] = await pushesTo(base, sub);
  const payload = JSON.parse(push.payload);
  assert(payload.reason === "kaleyra_event" && payload.event.callId === "call-1" && payload.userId === userId, `payload ${push.payload}`);
  assert(push.urgency === "high" && push.ttl <= 60 && push.claims.aud === new URL(base).origin, `push headers/claims ${JSON.stringify(push)}`);
  await ringRelayed(base, app, userId, "call-1");
  await sleep(1_000);
  assert((await pushesTo(base, sub)).length === 1, "the same call woke the user twice");
  progress(`  no client: pushed in ${push.at - rangAt} ms, VAPID verified and decrypted by the push service; the same call again: no second push`);

  const roomId = await roomFor(base, app, [userId, "wake-e2e-caller"]);
  await ringV0(base, app, roomId);
  const [, v0] = await pushesTo(base, sub, 2);
  const v0Payload = JSON.parse(v0.payload);
  assert(v0Payload.reason === "call_incoming" && v0Payload.event.callId === roomId, `v0 payload ${v0.payload}`);
  progress("  Kaleyra's v0 on_call_incoming for a room the tenant indexed: its user was woken");
  return app;
}

/** 14: the browser's half: the service worker, the notification, the page the click opens. */
export async function wakeInChromium(browser, base, app, screenshot) {
  progress("14. Chromium: the service worker shows a wake delivered through DevTools; its click opens the page, which rejoins");
  const origin = new URL(base).origin;
  const context = await browser.newContext();
  await context.grantPermissions(["notifications"], { origin });
  const userId = "wake-browser";
  const page = await newPage(context, "wake");
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.demo !== undefined && document.getElementById("loading").hidden);
  await page.fill("#appId", app.appId);
  await page.click("#configure");
  await page.fill("#userId", userId);
  await page.click("#connect");
  await page.waitForFunction(() => document.body.dataset.status === "connected" && document.body.dataset.transport === "open", undefined, { timeout: 15_000 });
  await page.click("#pushLocal");
  await page.waitForFunction(() => document.body.dataset.push === "local", undefined, { timeout: 10_000 });
  const endpoint = await page.locator("#pushStatus").innerText();
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 10_000 }));
  progress(`  subscribed (${endpoint}); service worker ${new URL(worker.url()).pathname} running`);

  // DevTools needs the registration's id; a blank page of the context keeps the session while no demo tab is open.
  const keeper = await context.newPage();
  const cdp = await context.newCDPSession(keeper);
  const registrations = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations));
  await cdp.send("ServiceWorker.enable");
  const registration = await until("the demo's service worker registration", () => registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted), 10_000);

  await page.close();
  await sleep(300);
  const sub = (await pushLog(base)).received.length;
  await ringRelayed(base, app, userId, "browser-call");
  const pushed = await until("the push at the local push service", async () => (await pushLog(base)).received.slice(sub).find((r) => JSON.parse(r.payload).userId === userId), 10_000);
  // What the push service decrypted is what the browser's push service would hand the worker.
  const shown = await deliverUntilShown(cdp, context, { origin, registrationId: registration.registrationId, data: pushed.payload }, "kaleyra-wake:browser-call", "the wake's notification");
  assert(shown[0].title === "Incoming call" && shown[0].tag === "kaleyra-wake:browser-call" && shown[0].data.userId === userId, `notification ${JSON.stringify(shown)}`);
  progress(`  the worker showed "${shown[0].title}" (${shown[0].tag})`);

  const clicked = await (await liveWorker(context)).evaluate((tag) => self.clickWakeNotification(tag), shown[0].tag);
  assert(clicked.clicked && clicked.wouldOpen !== undefined, `click: ${JSON.stringify(clicked)}`);
  // No demo tab is open, so the handler opens one; only a real click may (see demo-sw.js): opened here.
  const woken = await newPage(context, "woken");
  await woken.goto(clicked.wouldOpen);
  assert(new URL(woken.url()).searchParams.get("kaleyraWake") === "kaleyra_event", `opened ${woken.url()}`);
  await woken.waitForFunction(() => document.body.dataset.status === "connected" && document.body.dataset.transport === "open", undefined, { timeout: 15_000 });
  await woken.waitForFunction(() => window.demo.wakes.length === 1 && document.querySelectorAll("#timeline rect.wake").length === 1, undefined, { timeout: 5_000 });
  const calls = await woken.evaluate(() => window.demo.providerCalls.length);
  assert(calls === 0, `the woken page asked for ${calls} token(s)`);
  const log = await woken.locator("#log").innerText();
  assert(log.includes("opened by a wake notification") && log.includes("woken: the session woke this app"), `log: ${log.slice(0, 400)}`);
  progress("  the click opened /?kaleyraWake=kaleyra_event: start() rejoined the session (no token asked), the timeline marks the wake");
  if (screenshot) await screenshot(woken, "demo-woken.png");

  // With the page open, a click focuses it and tells it (the worker posts the wake).
  const again = JSON.stringify({ ...JSON.parse(pushed.payload), event: { name: "call:incoming", callId: "second-call" }, tag: "kaleyra-wake:second-call" });
  await deliverUntilShown(cdp, context, { origin, registrationId: registration.registrationId, data: again }, "kaleyra-wake:second-call", "the second notification", woken);
  const focused = await (await liveWorker(context)).evaluate(() => self.clickWakeNotification("kaleyra-wake:second-call"));
  assert(focused.clicked && focused.wouldOpen === undefined && new URL(focused.wouldFocus).origin === origin, `focus: ${JSON.stringify(focused)}`);
  await woken.waitForFunction(() => document.getElementById("log").textContent.includes("the service worker says a wake was clicked: kaleyra_event call:incoming"), undefined, { timeout: 5_000 });
  progress("  with the page open, a click focuses it and the page hears the wake");
  await context.close();
  return [page, woken];
}

/**
 * The worker now running for the context. Chromium stops an idle service worker and starts a new
 * one for the next event (a push, a page's register() update check): a handle taken earlier may
 * point at a stopped instance, so each use asks for the current one.
 */
async function liveWorker(context) {
  return context.serviceWorkers().at(-1) ?? (await context.waitForEvent("serviceworker", { timeout: 10_000 }));
}

/**
 * The notifications shown under `tag`: through an open page of the origin when there is one (its
 * registration, no worker handle involved), else through whichever worker instance is running.
 */
async function notificationsTagged(context, tag, page) {
  const read = async (t) => (await self.registration.getNotifications({ tag: t })).map((n) => ({ title: n.title, tag: n.tag, data: n.data }));
  try {
    if (page) return await page.evaluate(async (t) => (await (await navigator.serviceWorker.ready).getNotifications({ tag: t })).map((n) => ({ title: n.title, tag: n.tag, data: n.data })), tag);
    return await (await liveWorker(context)).evaluate(read, tag);
  } catch {
    // The instance stopped between lookup and evaluate: the next poll asks for the new one.
    return [];
  }
}

/**
 * Delivers a push through DevTools until its notification shows. CI once waited 10 s for the
 * second notification through a worker handle taken before the woken page loaded (its register()
 * update check restarts the worker); read through the worker then running, 1 local run in 3 still
 * needed a second delivery; read through the woken page, 3 runs in 3 saw the first. So the lost
 * thing was most likely the handle, not the push (3 runs are few); the re-delivery (every 3 s, counted in the progress line)
 * stays as the bound for a DevTools delivery that lands mid-restart. The same tag replaces the
 * notification, so a repeat still shows one.
 */
async function deliverUntilShown(cdp, context, message, tag, what, page) {
  const deadline = Date.now() + 15_000;
  for (let attempt = 1; ; attempt++) {
    await cdp.send("ServiceWorker.deliverPushMessage", message);
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      const shown = await notificationsTagged(context, tag, page);
      if (shown.length > 0) {
        if (attempt > 1) progress(`  ${what}: shown after ${attempt} deliveries`);
        return shown;
      }
      await sleep(200);
    }
    if (Date.now() > deadline) throw new Error(`timed out after 15000 ms (${attempt} deliveries) waiting for ${what}`);
  }
}
