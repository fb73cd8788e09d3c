/**
 * The JavaScript half of the Android WebView bridge (docs/android-webview.md), shaped like Kaleyra's
 * hybrid bridge. The page posts `accessTokenRequest {requestID, userID}` to the app's JavaScript
 * interface; the app answers by evaluating
 * `window.kaleyraBridge.onAccessTokenResponse({requestID, success, data, error})`.
 * The app can also hand the page an access link: `window.kaleyraBridge.onAccessLink(link)`.
 * Given a relay (client/relay.ts), it forwards relayed events (`remoteEvent`, `remoteGap`) to the
 * app, and the app's `kaleyraBridge.remoteEmit({requestID, name, data})` to the relay, answered by
 * `remoteAck {requestID, success, data, error}`.
 * Invariants: every token request settles exactly once, with the app's answer or after timeoutMs
 * (the session's 15 s attempt timeout); a late, repeated or unknown answer is ignored. Every
 * remoteEmit is answered by exactly one remoteAck with its requestID (a malformed one too, when it
 * has a requestID).
 * A separate entry point: the core client does not carry it.
 */
import { KaleyraError } from "./errors";
import type { Configuration, TokenProvider } from "./kaleyra-video";
import { hostTimers, type Timers } from "./platform";
import { ANY, type KaleyraRelay, type RelayHandler } from "./relay";

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

/** The app asks the page to emit an event on the user's Kaleyra connection (through the relay). */
export interface RemoteEmitRequest {
  requestID: string;
  name: string;
  data?: unknown;
}

/** What the page posts to the app, as JSON. */
export type AndroidBridgeMessage =
  | { event: "accessTokenRequest"; data: AccessTokenRequest }
  | { event: "accessLinkResult"; data: { success: boolean; error?: { code: string; message: string } } }
  | { event: "remoteEvent"; data: { name: string; seq: number; data: unknown } }
  | { event: "remoteGap"; data: { after: number } }
  | { event: "remoteAck"; data: { requestID: string; success: boolean; data?: unknown; error?: { code: string; message: string } } };

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
  /** The relay (client/relay.ts) whose events go to the app and which takes the app's emits. */
  relay?: KaleyraRelay;
}

export interface AndroidBridge {
  /** A TokenProvider for `kaleyra.connect(userId, bridge.tokenProvider)`. */
  readonly tokenProvider: TokenProvider;
  /** The app's configuration, for `onRequestConfigure`; undefined when the app has none. */
  configuration(): Configuration | undefined;
  /** The app's answer; false when it matched no waiting request. */
  onAccessTokenResponse(response: AccessTokenResponse | string): boolean;
  onAccessLink(accessLink: string): void;
  /** The app's emit; answered by a remoteAck message. False (and no answer) without a requestID or a relay. */
  remoteEmit(request: RemoteEmitRequest | string): boolean;
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

  // Relayed events and gaps go to the app as they come; a gap handler the page set still hears them.
  const relay = options.relay;
  const forward: RelayHandler = (_data, { name, seq, data }) => post({ event: "remoteEvent", data: { name, seq, data } });
  const appGap = relay?.onGap;
  const forwardGap = (after: number) => {
    post({ event: "remoteGap", data: { after } });
    appGap?.(after);
  };
  if (relay) {
    relay.on(ANY, forward);
    relay.onGap = forwardGap;
  }

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

    remoteEmit(request) {
      const r = parse(request) as Partial<RemoteEmitRequest> | undefined;
      const requestID = r?.requestID;
      if (!relay || typeof requestID !== "string") return false;
      const ack = (data: Extract<AndroidBridgeMessage, { event: "remoteAck" }>["data"]) => post({ event: "remoteAck", data });
      // The relay checks the name (invalid_frame) and the connection (not_connected) itself.
      void relay.emit(r!.name as string, r!.data).then(
        (data) => ack({ requestID, success: true, data }),
        (err: { code?: unknown; message?: unknown }) => ack({ requestID, success: false, error: { code: String(err?.code ?? "unknown"), message: String(err?.message ?? err) } }),
      );
      return true;
    },

    dispose() {
      if (host.kaleyraBridge === api) delete host.kaleyraBridge;
      relay?.off(ANY, forward);
      if (relay && relay.onGap === forwardGap) relay.onGap = appGap;
      for (const id of [...waiting.keys()]) settle(id)?.reject(new KaleyraError("token_refused", "The Android bridge was disposed."));
    },
  };

  // What the app calls through evaluateJavascript; plain functions, so `this` does not matter.
  const api = {
    onAccessTokenResponse: (response: AccessTokenResponse | string) => bridge.onAccessTokenResponse(response),
    onAccessLink: (accessLink: string) => bridge.onAccessLink(accessLink),
    remoteEmit: (request: RemoteEmitRequest | string) => bridge.remoteEmit(request),
  };
  host.kaleyraBridge = api;
  return bridge;
}
