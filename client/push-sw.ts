/**
 * The service worker's half of a wake (issue 21; docs/push.md): `kaleyra-edge/client/push-sw`.
 * In the app's service worker: `installWakeHandlers(self, { url: "/app/" })`.
 * - `push`: a kaleyra-edge wake (core/wake.ts PushNotificationPayload) is shown as a notification;
 *   any other push is left to the app's own handlers.
 * - `notificationclick` on a wake's notification: focuses an open window of the app's URL and posts
 *   it the wake (`{ type: "kaleyra_wake", wake }`), or opens the URL with `?kaleyraWake=<reason>`, so
 *   the page knows it was opened by a wake (client/push.ts wokenByPush) and runs `kaleyra.start()`,
 *   which rejoins the session that never stopped, without a new token.
 * Invariant: nothing here shows or forwards more than the wake carries (no token, no link: the
 * server never puts one in it), and a payload that is not a wake is not touched.
 */

export const WAKE_FLAG = "kaleyraWake";
export const WAKE_MESSAGE = "kaleyra_wake";
const MAX_TEXT = 256;

export interface WakeHandlerOptions {
  /** The app page to focus or open, absolute or relative to the service worker's scope. */
  url: string;
  icon?: string;
  badge?: string;
  /** Replaces the payload's texts, e.g. to localise: by the wake's reason kind. */
  texts?: Partial<Record<"call" | "tenant", { title?: string; body?: string }>>;
}

/** The wake as the notification keeps it (`notification.data`). */
export interface WakeData {
  type: typeof WAKE_MESSAGE;
  appId: string;
  userId: string;
  reason: string;
  event: { name: string; callId?: string; id?: string };
}

/** The parts of a service worker's global scope used here. */
export interface ServiceWorkerScopeLike {
  registration: {
    scope: string;
    showNotification(title: string, options: Record<string, unknown>): Promise<void>;
  };
  clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<readonly WindowClientLike[]>;
    openWindow(url: string): Promise<unknown>;
  };
  addEventListener(type: "push" | "notificationclick", listener: (event: any) => void): void;
}
export interface WindowClientLike {
  url: string;
  focus(): Promise<unknown>;
  postMessage(message: unknown): void;
}

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= MAX_TEXT;

/** The notification for a push payload, or undefined when it is not a kaleyra-edge wake. */
export function wakeNotification(payload: unknown, options: Omit<WakeHandlerOptions, "url"> = {}): { title: string; options: Record<string, unknown> } | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  const event = p.event as Record<string, unknown> | null;
  if (p.type !== WAKE_MESSAGE || p.v !== 1 || !str(p.appId) || !str(p.userId) || !str(p.reason) || typeof event !== "object" || event === null || !str(event.name)) return undefined;
  const call = p.reason !== "tenant";
  const texts = options.texts?.[call ? "call" : "tenant"];
  const data: WakeData = {
    type: WAKE_MESSAGE,
    appId: p.appId,
    userId: p.userId,
    reason: p.reason,
    event: { name: event.name, ...(str(event.callId) && { callId: event.callId }), ...(str(event.id) && { id: event.id }) },
  };
  return {
    title: texts?.title ?? (str(p.title) ? p.title : call ? "Incoming call" : "New activity"),
    options: {
      body: texts?.body ?? (str(p.body) ? p.body : ""),
      tag: str(p.tag) ? p.tag : `kaleyra-wake:${event.name}`,
      // A repeat of the same call replaces the notification and alerts again.
      renotify: true,
      // A ringing call stays until the user acts on it.
      requireInteraction: call,
      data,
      ...(options.icon !== undefined && { icon: options.icon }),
      ...(options.badge !== undefined && { badge: options.badge }),
    },
  };
}

/** The app URL a click opens: the configured URL (against the scope) with the wake flag. */
export function wakeUrl(url: string, scope: string, reason: string): string {
  const target = new URL(url, scope);
  target.searchParams.set(WAKE_FLAG, reason);
  return target.href;
}

/** Focuses an open window of the app's URL (same origin and path prefix) and tells it; else opens one. */
export async function focusOrOpen(scope: ServiceWorkerScopeLike, url: string, wake: WakeData): Promise<void> {
  const app = new URL(url, scope.registration.scope);
  const windows = await scope.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => {
    const at = new URL(w.url);
    return at.origin === app.origin && at.pathname.startsWith(app.pathname);
  });
  if (open) {
    await open.focus();
    open.postMessage(wake);
    return;
  }
  await scope.clients.openWindow(wakeUrl(url, scope.registration.scope, wake.reason));
}

/** Registers the `push` and `notificationclick` listeners for wakes. */
export function installWakeHandlers(scope: ServiceWorkerScopeLike, options: WakeHandlerOptions): void {
  scope.addEventListener("push", (event: { data?: { json(): unknown } | null; waitUntil(p: Promise<unknown>): void }) => {
    let payload: unknown;
    try {
      payload = event.data?.json();
    } catch {
      return;
    }
    const shown = wakeNotification(payload, options);
    if (shown) event.waitUntil(scope.registration.showNotification(shown.title, shown.options));
  });
  scope.addEventListener("notificationclick", (event: { notification: { data?: unknown; close(): void }; waitUntil(p: Promise<unknown>): void }) => {
    const data = event.notification.data as WakeData | undefined;
    if (data?.type !== WAKE_MESSAGE) return;
    event.notification.close();
    event.waitUntil(focusOrOpen(scope, options.url, data));
  });
}
