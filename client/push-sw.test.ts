/** The service worker's half of a wake, over a fake service worker scope: show, then focus or open. */
import { describe, expect, it, vi } from "vitest";
import { pushNotificationPayload, type WakePayload } from "../core/wake";
import { installWakeHandlers, wakeNotification, wakeUrl, type ServiceWorkerScopeLike, type WindowClientLike } from "./push-sw";

const wake: WakePayload = { appId: "mAppId_demo", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming", callId: "c1" } };
const payload = () => JSON.parse(pushNotificationPayload(wake, 1_000)) as unknown;

function fakeScope(windows: WindowClientLike[] = []) {
  const listeners: Record<string, (event: unknown) => void> = {};
  const waits: Promise<unknown>[] = [];
  const scope = {
    registration: { scope: "https://app.example.com/", showNotification: vi.fn(async () => undefined) },
    clients: { matchAll: vi.fn(async () => windows), openWindow: vi.fn(async () => null) },
    addEventListener: (type: string, listener: (event: unknown) => void) => void (listeners[type] = listener),
  } satisfies ServiceWorkerScopeLike;
  const fire = async (type: string, event: object) => {
    listeners[type]!({ ...event, waitUntil: (p: Promise<unknown>) => waits.push(p) });
    await Promise.all(waits);
  };
  return { scope, fire };
}

const windowAt = (url: string) => ({ url, focus: vi.fn(async () => undefined), postMessage: vi.fn() });
const notificationOf = (data: unknown) => ({ data, close: vi.fn() });

describe("push-sw: on push", () => {
  it("shows a wake as a notification that stays for a call, with the wake as its data", async () => {
    const { scope, fire } = fakeScope();
    installWakeHandlers(scope, { url: "/app/", icon: "/icon.png" });
    await fire("push", { data: { json: payload } });
    expect(scope.registration.showNotification).toHaveBeenCalledWith("Incoming call", {
      body: "Open the app to answer.",
      tag: "kaleyra-wake:c1",
      renotify: true,
      requireInteraction: true,
      icon: "/icon.png",
      data: { type: "kaleyra_wake", appId: "mAppId_demo", userId: "alice", reason: "kaleyra_event", event: { name: "call:incoming", callId: "c1" } },
    });
  });

  it("leaves other pushes to the app's own handlers (nothing shown, nothing waited for)", async () => {
    const { scope, fire } = fakeScope();
    installWakeHandlers(scope, { url: "/app/" });
    await fire("push", { data: { json: () => ({ title: "someone else's" }) } });
    await fire("push", { data: { json: () => JSON.parse("not json") } });
    await fire("push", { data: null });
    expect(scope.registration.showNotification).not.toHaveBeenCalled();
  });

  it("uses the app's own texts when given (localisation), by kind", () => {
    expect(wakeNotification(payload(), { texts: { call: { title: "Chiamata in arrivo", body: "Apri l'app" } } })).toMatchObject({ title: "Chiamata in arrivo", options: { body: "Apri l'app" } });
    const tenant = JSON.parse(pushNotificationPayload({ ...wake, reason: "tenant", event: { name: "chat", id: "m1", title: "Bob", body: "Hi" } }, 0)) as unknown;
    expect(wakeNotification(tenant)).toMatchObject({ title: "Bob", options: { body: "Hi", requireInteraction: false, tag: "kaleyra-wake:m1" } });
  });

  it("does not forward the event's data (a tenant's data stays out of the notification)", () => {
    const tenant = JSON.parse(pushNotificationPayload({ ...wake, reason: "tenant", event: { name: "chat", data: { secretish: "x" } } }, 0)) as unknown;
    expect(JSON.stringify(wakeNotification(tenant))).not.toContain("secretish");
  });
});

describe("push-sw: on notification click", () => {
  it("focuses an open window of the app and posts it the wake", async () => {
    const other = windowAt("https://app.example.com/elsewhere");
    const app = windowAt("https://app.example.com/app/room?x=1");
    const { scope, fire } = fakeScope([other, app]);
    installWakeHandlers(scope, { url: "/app/" });
    const notification = notificationOf(wakeNotification(payload())!.options.data);
    await fire("notificationclick", { notification });
    expect(notification.close).toHaveBeenCalled();
    expect(app.focus).toHaveBeenCalled();
    expect(app.postMessage).toHaveBeenCalledWith(notification.data);
    expect(other.focus).not.toHaveBeenCalled();
    expect(scope.clients.openWindow).not.toHaveBeenCalled();
  });

  it("opens the app with the wake flag when no window of it is open, so the page runs start()", async () => {
    const { scope, fire } = fakeScope([windowAt("https://other.example.com/app/")]);
    installWakeHandlers(scope, { url: "/app/" });
    await fire("notificationclick", { notification: notificationOf(wakeNotification(payload())!.options.data) });
    expect(scope.clients.openWindow).toHaveBeenCalledWith("https://app.example.com/app/?kaleyraWake=kaleyra_event");
  });

  it("ignores clicks on notifications that are not wakes", async () => {
    const { scope, fire } = fakeScope();
    installWakeHandlers(scope, { url: "/app/" });
    const notification = notificationOf({ type: "mine" });
    await fire("notificationclick", { notification });
    expect(notification.close).not.toHaveBeenCalled();
    expect(scope.clients.openWindow).not.toHaveBeenCalled();
  });

  it("keeps the app URL's own query when adding the flag", () => {
    expect(wakeUrl("https://app.example.com/app/?lang=it", "https://app.example.com/", "tenant")).toBe("https://app.example.com/app/?lang=it&kaleyraWake=tenant");
  });
});
