/**
 * Web Push for a page (issue 21; docs/push.md): `kaleyra-edge/client/push`, its own entry so the
 * core client's byte budget is untouched. It subscribes the page's service worker registration with
 * the app's VAPID public key and gives the subscription to the user's session over the client's
 * socket (`push_subscribe`, core/protocol-push.ts), so a call for the user wakes this browser when no
 * tab is open; and takes it back (`push_unsubscribe`).
 * Invariants:
 * - The subscription is sent on an open socket, and again after every attach state that follows a
 *   new socket's `auth_required`, so a session that restarted or a socket that reopened keeps it (the
 *   session keeps one per endpoint: a repeat replaces, never adds). Sent before the socket's proof,
 *   it is answered `push_refused` `push_unproven` (core/protocol-push.ts), which only waits for that
 *   next attach state: the session's answers to push frames are never `error` frames.
 * - subscribe() settles once: with the subscription when the session answers push_subscribed; with a
 *   KaleyraError on push_refused (its code: push_key_changed when the app's key was rotated, read it
 *   again with pushKey()), or push_unconfirmed after CONFIRM_WAIT_MS (the subscription is still
 *   re-sent at the next attach).
 * - clearSavedData (`data_cleared`, here or in another client of the user) is the user's data going:
 *   the subscription is forgotten and the browser unsubscribed, as the session already dropped it.
 * - Hears frames through a PushHost: from a KaleyraVideo, a listener in its `frames`.
 */
import type { PushSubscriptionJson } from "../core/push-subscription";
import { KaleyraError, type KaleyraErrorCode } from "./errors";
import type { KaleyraVideo } from "./kaleyra-video";
import { hostTimers, type Timers } from "./platform";

/** How a page learns it was opened from a wake notification (client/push-sw.ts adds it to the URL). */
export const WAKE_FLAG = "kaleyraWake";
export const CONFIRM_WAIT_MS = 15_000;

/** The client's way to the session: send a frame; hear every server frame (text). */
export interface PushHost {
  send(frame: object): void;
  /** Returns a function that stops listening. */
  onFrame(listener: (data: unknown) => void): () => void;
  /** A socket is open now (a frame sent would arrive); absent: wait for the next attach state. */
  isOpen?(): boolean;
}

/** The parts of the browser's push API used here (a ServiceWorkerRegistration satisfies it). */
export interface BrowserSubscription {
  readonly endpoint: string;
  readonly options?: { readonly applicationServerKey?: ArrayBuffer | null };
  toJSON(): { endpoint?: string; expirationTime?: number | null; keys?: Record<string, string> };
  unsubscribe(): Promise<boolean>;
}
export interface RegistrationLike {
  pushManager: {
    getSubscription(): Promise<BrowserSubscription | null>;
    subscribe(options: { userVisibleOnly: true; applicationServerKey: Uint8Array }): Promise<BrowserSubscription>;
  };
}

export interface PushOptions {
  /** The app's VAPID public key, base64url (the key pushes are signed with). */
  vapidPublicKey: string;
  /** Default: navigator.serviceWorker.ready. */
  registration?: RegistrationLike | Promise<RegistrationLike>;
  timers?: Timers;
}

interface Waiting {
  endpoint: string;
  resolve(sub: PushSubscriptionJson): void;
  reject(error: KaleyraError): void;
  timer: unknown;
}

type PushFrame = { type?: string; endpoint?: string; code?: string; message?: string; field?: string };

const failure = (code: string, message: string, field?: string) => new KaleyraError(code as KaleyraErrorCode, message, field);

export class KaleyraPush {
  readonly #host: PushHost;
  readonly #options: PushOptions;
  readonly #timers: Timers;
  readonly #stop: () => void;
  #current?: PushSubscriptionJson;
  /** The socket's attach state arrived (and no new socket asked for a proof since). */
  #attached = false;
  /** An auth_required was heard and its attach state not yet: send at that state. */
  #resendAtAttach = true;
  #waiting?: Waiting;

  constructor(host: PushHost, options: PushOptions) {
    this.#host = host;
    this.#options = options;
    this.#timers = options.timers ?? hostTimers;
    this.#stop = host.onFrame((data) => this.#onFrame(data));
  }

  /** The subscription given to the session, if any. */
  get subscription(): PushSubscriptionJson | undefined {
    return this.#current;
  }

  /** Subscribes this browser (the user is asked for permission if needed) and gives it to the session. */
  async subscribe(): Promise<PushSubscriptionJson> {
    const key = decodeKey(this.#options.vapidPublicKey);
    if (!key) throw failure("bad_request", "vapidPublicKey must be the app's base64url P-256 public key.", "vapidPublicKey");
    const registration = await this.#registration();
    let sub = await registration.pushManager.getSubscription();
    // A browser refuses a second subscription with another key: the old one (another app's key, or a rotated one) goes.
    if (sub && !sameKey(sub.options?.applicationServerKey, key)) {
      await sub.unsubscribe();
      sub = null;
    }
    sub ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const json = sub.toJSON();
    const current: PushSubscriptionJson = { endpoint: sub.endpoint, expirationTime: json.expirationTime ?? null, keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" } };
    this.#current = current;
    this.#settle()?.reject(failure("push_unconfirmed", "A newer subscribe() replaced this one."));
    return new Promise((resolve, reject) => {
      const timer = this.#timers.setTimeout(
        () => this.#settle()?.reject(failure("push_unconfirmed", "The session did not confirm the subscription in time; it is sent again when the client next attaches.")),
        CONFIRM_WAIT_MS,
      );
      this.#waiting = { endpoint: current.endpoint, resolve, reject, timer };
      if (this.#attached || this.#host.isOpen?.()) this.#sendSubscription(current);
    });
  }

  /** Takes the subscription back from the session and unsubscribes the browser. */
  async unsubscribe(): Promise<void> {
    const registration = await this.#registration();
    const sub = await registration.pushManager.getSubscription();
    const endpoint = sub?.endpoint ?? this.#current?.endpoint;
    this.#current = undefined;
    this.#settle()?.reject(failure("push_unconfirmed", "unsubscribe() was called."));
    // Sent when possible; otherwise the push service's 404/410 for the dead endpoint removes it later.
    if (endpoint !== undefined && (this.#attached || this.#host.isOpen?.())) this.#host.send({ type: "push_unsubscribe", endpoint });
    await sub?.unsubscribe();
  }

  /** Stops hearing frames; a waiting subscribe() fails. */
  detach(): void {
    this.#stop();
    this.#settle()?.reject(failure("push_unconfirmed", "The push helper was detached."));
  }

  #registration(): Promise<RegistrationLike> {
    const given = this.#options.registration;
    if (given) return Promise.resolve(given);
    const sw = (globalThis as { navigator?: { serviceWorker?: { ready: Promise<RegistrationLike> } } }).navigator?.serviceWorker;
    if (!sw || !("PushManager" in globalThis)) return Promise.reject(failure("push_unsupported", "This browser has no service worker or Push API (on iOS: add the app to the home screen first)."));
    return sw.ready;
  }

  #onFrame(data: unknown): void {
    let f: PushFrame | null;
    try {
      f = JSON.parse(data as string) as PushFrame | null;
    } catch {
      return;
    }
    if (f?.type === "auth_required") this.#attached = !(this.#resendAtAttach = true);
    else if (f?.type === "state" && this.#resendAtAttach) {
      this.#attached = true;
      this.#resendAtAttach = false;
      if (this.#current) this.#sendSubscription(this.#current);
    } else if (f?.type === "push_refused" && f.code === "push_unproven") {
      // Sent before the proof: the attach state that follows sends it again.
      this.#attached = false;
      this.#resendAtAttach = true;
    } else if (f?.type === "data_cleared" && this.#current) {
      this.#current = undefined;
      this.#settle()?.reject(failure("push_unconfirmed", "The user's saved data was cleared."));
      void this.#registration().then((r) => r.pushManager.getSubscription()).then((sub) => sub?.unsubscribe(), () => undefined);
    } else if (f?.type === "push_subscribed" && f.endpoint === this.#waiting?.endpoint && this.#current) {
      this.#settle()?.resolve(this.#current);
    } else if (f?.type === "push_refused" && (f.endpoint === undefined || f.endpoint === this.#waiting?.endpoint)) {
      this.#current = undefined;
      this.#settle()?.reject(failure(f.code ?? "push_invalid", f.message ?? "The session refused the subscription.", f.field));
    }
  }

  #sendSubscription(subscription: PushSubscriptionJson): void {
    // The key it was made with: the session refuses one the app no longer signs with (push_key_changed).
    this.#host.send({ type: "push_subscribe", subscription, applicationServerKey: this.#options.vapidPublicKey });
  }

  #settle(): Waiting | undefined {
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w) this.#timers.clearTimeout(w.timer);
    return w;
  }
}

/** The PushHost of a KaleyraVideo client: its send(), and a listener in its frames. */
export function kaleyraPushHost(kaleyra: KaleyraVideo): PushHost {
  return {
    send: (frame) => kaleyra.send(frame),
    isOpen: () => kaleyra.state.value.transport === "open",
    onFrame(listener) {
      kaleyra.frames.add(listener);
      return () => kaleyra.frames.delete(listener);
    },
  };
}

/** What GET /v1/apps/:appId/push answers: the app's VAPID public key, and whether it sends Web Push. */
export interface PushKey {
  vapidPublicKey: string;
  webPush: boolean;
}

/**
 * Reads the app's VAPID public key from the server (`server`: the client's http(s) URL). Read it
 * again after a push_key_changed: the operator rotated the app's pair.
 */
export async function pushKey(server: string, appId: string, fetcher: typeof fetch = fetch): Promise<PushKey> {
  const res = await fetcher(`${server.replace(/^ws/, "http").replace(/\/+$/, "")}/v1/apps/${encodeURIComponent(appId)}/push`);
  if (!res.ok) throw failure(res.status === 404 ? "app_id_invalid" : "unavailable", `The app's push key could not be read (HTTP ${res.status}).`);
  return (await res.json()) as PushKey;
}

/** Attaches Web Push to a client: `const webPush = push(kaleyra, { vapidPublicKey })`. */
export function push(kaleyra: KaleyraVideo | PushHost, options: PushOptions): KaleyraPush {
  return new KaleyraPush("onFrame" in kaleyra ? kaleyra : kaleyraPushHost(kaleyra), options);
}

/** The wake's reason when this page was opened from a wake notification (then run `kaleyra.start()`). */
export function wokenByPush(href: string = (globalThis as { location?: { href: string } }).location?.href ?? ""): string | undefined {
  try {
    return new URL(href).searchParams.get(WAKE_FLAG) ?? undefined;
  } catch {
    return undefined;
  }
}

/** What the service worker posts to an open page when a wake's notification is clicked. */
export interface WakeMessage {
  type: "kaleyra_wake";
  appId: string;
  userId: string;
  reason: string;
  event: { name: string; callId?: string; id?: string };
}

interface MessageSource {
  addEventListener(type: "message", listener: (event: { data?: unknown }) => void): void;
  removeEventListener(type: "message", listener: (event: { data?: unknown }) => void): void;
}

/**
 * Hears the wakes the service worker posts to this page when a click focused it (the page was open,
 * maybe frozen): run `kaleyra.start()` there too. Default source: navigator.serviceWorker.
 */
export function onWake(listener: (wake: WakeMessage) => void, source?: MessageSource): () => void {
  const from = source ?? (globalThis as { navigator?: { serviceWorker?: MessageSource } }).navigator?.serviceWorker;
  if (!from) return () => undefined;
  const handler = (event: { data?: unknown }) => {
    const data = event.data as Partial<WakeMessage> | null | undefined;
    if (data?.type === "kaleyra_wake" && typeof data.userId === "string") listener(data as WakeMessage);
  };
  from.addEventListener("message", handler);
  return () => from.removeEventListener("message", handler);
}

function decodeKey(text: string): Uint8Array | undefined {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]{87}$/.test(text)) return undefined;
  const bytes = Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/") + "="), (c) => c.charCodeAt(0));
  return bytes[0] === 0x04 ? bytes : undefined;
}

function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}
