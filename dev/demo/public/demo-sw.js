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
 * runs what a click runs (the handler's focusOrOpen) on the shown notification, by its tag.
 */
self.clickWakeNotification = async (tag) => {
  const [notification] = await self.registration.getNotifications(tag === undefined ? {} : { tag });
  if (!notification) return "no notification";
  notification.close();
  await focusOrOpen(self, OPTIONS.url, notification.data);
  return "clicked";
};
