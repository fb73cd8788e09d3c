// The demo page's service worker (docs/push.md, docs/demo.md): kaleyra-edge's wake handlers, as an
// app's own service worker would install them. Served from / so its scope is the whole demo.
// A wake push shows a notification; a click focuses the demo tab or opens / with ?kaleyraWake=…,
// whose page runs start() and rejoins the session that never stopped.
import { focusOrOpen, installWakeHandlers } from "/demo/kaleyra-push-sw.js";

const OPTIONS = { url: "/", texts: { call: { body: "kaleyra-edge demo: open the page to rejoin the session." } } };

installWakeHandlers(self, OPTIONS);
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/**
 * For the browser tests: headless Chromium shows no notification a test can click, so the test
 * runs what a click runs (the handler's focusOrOpen) on the shown notification, by its tag. Only a
 * real click lets a worker open or focus a window (the browser's user-activation rule): the URL it
 * would open (or the window it would focus) is answered instead, and the test opens it.
 */
self.clickWakeNotification = async (tag) => {
  const [notification] = await self.registration.getNotifications(tag === undefined ? {} : { tag });
  if (!notification) return { clicked: false };
  notification.close();
  let wouldOpen;
  let wouldFocus;
  const clients = {
    matchAll: async (options) =>
      (await self.clients.matchAll(options)).map((w) => ({ url: w.url, postMessage: (m) => w.postMessage(m), focus: () => w.focus().catch(() => void (wouldFocus = w.url)) })),
    openWindow: (url) => self.clients.openWindow(url).catch(() => void (wouldOpen = url)),
  };
  await focusOrOpen({ registration: self.registration, clients }, OPTIONS.url, notification.data);
  return { clicked: true, wouldOpen, wouldFocus };
};
