/**
 * The JavaScript half of the Android WebView bridge (docs/android-webview.md), shaped like Kaleyra's
 * hybrid bridge. The page posts `accessTokenRequest {requestID, userID}` to the app's JavaScript
 * interface; the app answers by evaluating
 * `window.kaleyraBridge.onAccessTokenResponse({requestID, success, data, error})`.
 * The app can also hand the page an access link: `window.kaleyraBridge.onAccessLink(link)`.
 * Invariants: every token request settles exactly once, with the app's answer or after timeoutMs
 * (the session's 15 s attempt timeout); a late, repeated or unknown answer is ignored.
 * A separate entry point: the core client does not carry it.
 */
import { KaleyraError } from "./errors";
import type { Configuration, TokenProvider } from "./kaleyra-video";
import { hostTimers, type Timers } from "./platform";

/** The object the app adds with addJavascriptInterface (or WebViewCompat.addWebMessageListener). */
export interface AndroidNativeInterface {
  postMessage(json: string): void;
  /** Optional and synchronous: the app's configuration as JSON, or "" when it has none. */
  configuration?(): string;
}

export interface AccessTokenRequest {
  requestID: string;
  userID: string;
  /** The current token's expiry (ms since the epoch) when the session refreshes it. */
  expiresAt?: number;
}

export interface AccessTokenResponse {
  requestID: string;
  success: boolean;
  /** The token, when success. */
  data?: string | null;
  /** Why the app could not give one, when not. */
  error?: string | null;
}

/** What the page posts to the app, as JSON. */
export type AndroidBridgeMessage =
  | { event: "accessTokenRequest"; data: AccessTokenRequest }
  | { event: "accessLinkResult"; data: { success: boolean; error?: { code: string; message: string } } };

export interface AndroidBridgeOptions {
  /** Default: `window.KaleyraAndroid`. */
  native?: AndroidNativeInterface;
  /** Where `kaleyraBridge` is installed for the app to call. Default: the global object (window). */
  host?: object;
  /** How long a token request waits for the app. Default ACCESS_TOKEN_TIMEOUT_MS. */
  timeoutMs?: number;
  timers?: Timers;
  random?: () => number;
  /** The app handed over an access link; typically `(link) => kaleyra.connect(link)`. */
  onAccessLink?: (accessLink: string) => unknown;
}

export interface AndroidBridge {
  /** A TokenProvider for `kaleyra.connect(userId, bridge.tokenProvider)`. */
  readonly tokenProvider: TokenProvider;
  /** The app's configuration, for `onRequestConfigure`; undefined when the app has none. */
  configuration(): Configuration | undefined;
  /** The app's answer; false when it matched no waiting request. */
  onAccessTokenResponse(response: AccessTokenResponse | string): boolean;
  onAccessLink(accessLink: string): void;
  /** Removes `kaleyraBridge` and fails every waiting request. */
  dispose(): void;
}

/** Matches the session's token attempt timeout: a later answer would be stale anyway. */
export const ACCESS_TOKEN_TIMEOUT_MS = 15_000;

interface Waiting {
  resolve(token: string): void;
  reject(error: KaleyraError): void;
  timer: unknown;
}

function parse(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export function installAndroidBridge(options: AndroidBridgeOptions = {}): AndroidBridge {
  const host = (options.host ?? globalThis) as { KaleyraAndroid?: AndroidNativeInterface; kaleyraBridge?: unknown };
  const native = options.native ?? host.KaleyraAndroid;
  if (typeof native?.postMessage !== "function") {
    throw new TypeError("No Android interface: add one named KaleyraAndroid with addJavascriptInterface, or pass options.native");
  }
  const timers = options.timers ?? hostTimers;
  const timeoutMs = options.timeoutMs ?? ACCESS_TOKEN_TIMEOUT_MS;
  // A per-page prefix, so an answer meant for an earlier page load never matches.
  const prefix = Math.floor((options.random ?? Math.random)() * 2 ** 32).toString(36);
  const waiting = new Map<string, Waiting>();
  let sequence = 0;

  const post = (message: AndroidBridgeMessage) => native.postMessage(JSON.stringify(message));

  const settle = (requestID: string): Waiting | undefined => {
    const w = waiting.get(requestID);
    waiting.delete(requestID);
    if (w) timers.clearTimeout(w.timer);
    return w;
  };

  const tokenProvider: TokenProvider = ({ userId, expiresAt }) =>
    new Promise<string>((resolve, reject) => {
      const requestID = `${prefix}-${++sequence}`;
      const timer = timers.setTimeout(() => {
        settle(requestID)?.reject(new KaleyraError("token_timeout", `The app gave no token within ${timeoutMs / 1000} s; answer accessTokenRequest with kaleyraBridge.onAccessTokenResponse.`));
      }, timeoutMs);
      waiting.set(requestID, { resolve, reject, timer });
      const request: AccessTokenRequest = expiresAt === undefined ? { requestID, userID: userId } : { requestID, userID: userId, expiresAt };
      try {
        post({ event: "accessTokenRequest", data: request });
      } catch (err) {
        settle(requestID)?.reject(new KaleyraError("token_refused", `The app's interface failed: ${String(err)}`));
      }
    });

  const bridge: AndroidBridge = {
    tokenProvider,

    configuration() {
      const c = parse(native.configuration?.()) as Partial<Configuration> | undefined;
      return c && typeof c === "object" ? { appId: c.appId, environment: c.environment, region: c.region } as Configuration : undefined;
    },

    onAccessTokenResponse(response) {
      const r = parse(response) as Partial<AccessTokenResponse> | undefined;
      const w = typeof r?.requestID === "string" ? settle(r.requestID) : undefined;
      if (!w || !r) return false;
      if (r.success === true && typeof r.data === "string" && r.data !== "") w.resolve(r.data);
      else w.reject(new KaleyraError("token_refused", `The app could not give a token${r.error ? `: ${r.error}` : ""}; check its token source.`));
      return true;
    },

    onAccessLink(accessLink) {
      void Promise.resolve()
        .then(() => {
          if (!options.onAccessLink) throw new KaleyraError("bad_request", "This page does not take access links; pass onAccessLink to installAndroidBridge.");
          return options.onAccessLink(accessLink);
        })
        .then(
          () => post({ event: "accessLinkResult", data: { success: true } }),
          (err: { code?: unknown; message?: unknown }) =>
            post({ event: "accessLinkResult", data: { success: false, error: { code: String(err?.code ?? "unknown"), message: String(err?.message ?? err) } } }),
        );
    },

    dispose() {
      if (host.kaleyraBridge === api) delete host.kaleyraBridge;
      for (const id of [...waiting.keys()]) settle(id)?.reject(new KaleyraError("token_refused", "The Android bridge was disposed."));
    },
  };

  // What the app calls through evaluateJavascript; plain functions, so `this` does not matter.
  const api = {
    onAccessTokenResponse: (response: AccessTokenResponse | string) => bridge.onAccessTokenResponse(response),
    onAccessLink: (accessLink: string) => bridge.onAccessLink(accessLink),
  };
  host.kaleyraBridge = api;
  return bridge;
}
