/**
 * The kaleyra-edge client for browsers and Android WebViews: the Kaleyra Video SDK's session API
 * (configure, connect, disconnect, reset, state) over a socket to the session on the edge.
 * Zero dependencies; from core/ it takes only types and small guards (see scripts/client-size.mjs).
 */
export {
  DISCONNECT_WAIT_MS,
  Environment,
  KaleyraVideo,
  Region,
  type ClientState,
  type Configuration,
  type ConnectedUser,
  type KaleyraVideoOptions,
  type TokenProvider,
  type TokenRequest,
  type Transport,
} from "./kaleyra-video";
export { KaleyraError, type KaleyraErrorCode } from "./errors";
export type { Observable } from "./observable";
export type { OnlineStatus, StorageLike, Timers, WebSocketConstructor, WebSocketLike } from "./platform";
export type { SavedSession } from "./saved-data";
export type { DisconnectError, DisconnectReason, Mode, SessionView, Status } from "../core/session";
