/**
 * The client's public types and constants: the configuration, the options, the state it shows.
 * Types only, but for the two enum-like objects (their values are the server's own strings).
 */
import type { SessionView } from "../core/session";
import type { KaleyraError } from "./errors";
import type { OnlineStatus, StorageLike, Timers, WebSocketConstructor } from "./platform";
import type { SavedSession } from "./saved-data";
import type { Transport } from "./transport";

export const Environment = { Production: "production", Sandbox: "sandbox" } as const;
export type Environment = (typeof Environment)[keyof typeof Environment];
export const Region = { Europe: "eu", India: "in", US: "us" } as const;
export type Region = (typeof Region)[keyof typeof Region];

export interface Configuration {
  appId: string;
  environment: Environment;
  region: Region;
}

export interface ConnectedUser {
  readonly userId: string;
}

export interface TokenRequest {
  userId: string;
  /** The current token's expiry (ms since the epoch) when the session refreshes it. */
  expiresAt?: number;
}

/** Answers a token for the user; a rejection (or a non-string) tells the session this attempt failed. */
export type TokenProvider = (request: TokenRequest) => Promise<string> | string;

/** The server's view of the session, plus what only this client knows. */
export interface ClientState extends SessionView {
  transport: Transport;
  /** When the next socket opens, while waiting. */
  nextOpenAt?: number;
  /** Why the client stopped: a refusal, or the error that ended the session. */
  failure?: KaleyraError;
}

export interface KaleyraVideoOptions {
  /** The kaleyra-edge server, e.g. "https://edge.example.com" (ws:// and wss:// work too). */
  server: string;
  WebSocket?: WebSocketConstructor;
  /** Where configuration and the connected userId persist; localStorage by default; null: nowhere. */
  storage?: StorageLike | null;
  random?: () => number;
  now?: () => number;
  timers?: Timers;
  online?: OnlineStatus;
  /** start() asks for a configuration when none is saved. */
  onRequestConfigure?: () => Configuration | undefined;
  /** start() asks the app to connect again when saved data says a session was connected. */
  onRequestConnect?: (saved: SavedSession) => Promise<void> | void;
  /** Error frames that reject no promise (for instance token_request_stale). */
  onError?: (error: KaleyraError) => void;
}
