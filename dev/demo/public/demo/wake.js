// The demo page's Wake panel (docs/push.md, docs/demo.md): subscribe this browser to Web Push with
// the app's VAPID key (client/push.ts, service worker demo-sw.js), or, where the browser cannot reach
// a real push service (offline, headless), a subscription of the local push service standing in for
// the browser's. Close the tab, ring the user from the emulator: the session wakes the app. A page
// opened by the wake's notification runs start() and rejoins; the `woken` frame the session sends
// after the proof is drawn on the timeline.
import { onWake, push, pushKey, wokenByPush } from "./kaleyra-push.js";

const $ = (id) => document.getElementById(id);
const SW_URL = "/demo-sw.js";

/**
 * Wires the panel. `host`: { kaleyra, appId(), log(text), succeeded(text), showError(op, error),
 * render() }. Returns the wakes this tab heard of ({ t, reason, name }), the timeline's marks.
 */
export function wakePanel(host) {
  const wakes = [];
  let webPush;

  const opened = wokenByPush();
  if (opened) host.log(`this page was opened by a wake notification (${opened}): start() rejoins the session`);
  onWake((wake) => host.log(`the service worker says a wake was clicked: ${wake.reason} ${wake.event.name}`));

  // The session tells a page that attaches after a wake (the `woken` frame, docs/protocol.md).
  host.kaleyra.frames.add((data) => {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame?.type !== "woken" || wakes.some((w) => w.t === frame.at)) return;
    wakes.push({ t: frame.at, reason: frame.reason, name: frame.event.name });
    host.log(`woken: the session woke this app at ${new Date(frame.at).toLocaleTimeString()} (${frame.reason}, ${frame.event.name}${frame.event.callId ? ` ${frame.event.callId}` : ""})`);
    host.render();
  });

  async function subscribe(local) {
    const kaleyra = host.kaleyra;
    const appId = host.appId();
    try {
      if (!kaleyra.connectedUser) throw Object.assign(new Error("connect first: the subscription goes to the user's session"), { code: "not_connected" });
      const key = await pushKey(location.origin, appId);
      if (!key.webPush) host.log(`the app ${appId} does not send Web Push (wake.webPush): the session will refuse the subscription`);
      const registration = local ? localRegistration(key.vapidPublicKey) : await serviceWorker();
      webPush?.detach();
      webPush = push(kaleyra, { vapidPublicKey: key.vapidPublicKey, registration });
      const sub = await webPush.subscribe();
      $("pushStatus").textContent = `subscribed: ${new URL(sub.endpoint).origin}${local ? " (local push service)" : ""}`;
      document.body.dataset.push = local ? "local" : "browser";
      host.succeeded(`push_subscribed: this ${local ? "stand-in" : "browser"} is woken when a call comes with no tab open; close the tab and ring ${kaleyra.connectedUser.userId}`);
    } catch (error) {
      host.showError(local ? "subscribe (local push service)" : "subscribe this browser", error);
    }
  }

  async function unsubscribe() {
    try {
      await webPush?.unsubscribe();
      $("pushStatus").textContent = "not subscribed";
      delete document.body.dataset.push;
      host.succeeded("push_unsubscribe sent; the browser's subscription is gone");
    } catch (error) {
      host.showError("unsubscribe", error);
    }
  }

  $("pushSubscribe").onclick = () => subscribe(false);
  $("pushLocal").onclick = () => subscribe(true);
  $("pushUnsubscribe").onclick = unsubscribe;
  // The worker is registered at load, so a click on a wake's notification has it even in a fresh tab.
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(SW_URL, { type: "module" }).catch((error) => host.log(`service worker not registered: ${error.message}`));
  return wakes;
}

async function serviceWorker() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) throw Object.assign(new Error("this browser has no service worker or Push API"), { code: "push_unsupported" });
  await navigator.serviceWorker.register(SW_URL, { type: "module" });
  if (Notification.permission !== "granted" && (await Notification.requestPermission()) !== "granted") {
    throw Object.assign(new Error("notifications are not allowed for this page"), { code: "push_unsupported" });
  }
  return navigator.serviceWorker.ready;
}

/**
 * A push manager whose subscription comes from the local push service (dev/local-push.ts), as a
 * browser's comes from its vendor's: the session pushes to it for real (VAPID, aes128gcm); nothing
 * carries it on to this browser's service worker (the browser tests do, with the DevTools protocol).
 */
function localRegistration(applicationServerKey) {
  let current = null;
  const wrap = (sub) => ({
    endpoint: sub.endpoint,
    options: { applicationServerKey: decode(applicationServerKey).buffer },
    toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
    unsubscribe: async () => ((current = null), true),
  });
  return {
    pushManager: {
      getSubscription: async () => current,
      subscribe: async () => {
        const res = await fetch("/push-control/subscriptions", { method: "POST", body: JSON.stringify({ applicationServerKey }) });
        if (!res.ok) throw new Error(`local push service: HTTP ${res.status}`);
        current = wrap(await res.json());
        return current;
      },
    },
  };
}

function decode(key) {
  return Uint8Array.from(atob(key.replace(/-/g, "+").replace(/_/g, "/") + "="), (c) => c.charCodeAt(0));
}
