/**
 * The events of Kaleyra's realtime connection that belong to the session's own lifecycle [web]
 * (KALEYRA-FACTS.md): the adapter hands them to the session as session events (core/port.ts,
 * RemoteNotice), and the relay never carries them, either way (core/relay.ts).
 */
import type { SessionEvent } from "./session";

export const EVENT_CONNECTED = "switchboard:connected";
export const EVENT_TOKEN_ABOUT_TO_EXPIRE = "switchboard:access_token:is_about_to_expire";
export const EVENT_TOKEN_EXPIRED = "switchboard:access_token:expired";
export const EVENT_TOKEN_UPDATE = "switchboard:access_token:update";
export const EVENT_FORCE_DISCONNECT = "user:force_disconnect";
export const EVENT_CLIENT_DEPRECATED = "switchboard:client:deprecated";

/**
 * The Kaleyra events the session reacts to, each named by the session event it is: the adapter
 * hands the session `{ type: <that event> }` and core/transition.ts decides what follows. A new
 * one is a row here, its event in core/session.ts (SessionEvent) and its rule in transition.
 */
export const SESSION_EVENT_OF = {
  [EVENT_TOKEN_ABOUT_TO_EXPIRE]: "remote_token_expiring",
  [EVENT_TOKEN_EXPIRED]: "remote_token_expired",
  [EVENT_FORCE_DISCONNECT]: "user_deactivated",
} as const satisfies Record<string, SessionEvent["type"]>;

export type KaleyraSessionEvent = { type: (typeof SESSION_EVENT_OF)[keyof typeof SESSION_EVENT_OF] };

/** The session event a Kaleyra event is, or undefined for one the session leaves to the relay. */
export function sessionEventOf(name: string): KaleyraSessionEvent | undefined {
  return Object.hasOwn(SESSION_EVENT_OF, name) ? { type: SESSION_EVENT_OF[name as keyof typeof SESSION_EVENT_OF] } : undefined;
}

/** Every lifecycle event name: never relayed down, never emitted by a client. */
export const LIFECYCLE_EVENTS: readonly string[] = [EVENT_CONNECTED, EVENT_TOKEN_UPDATE, EVENT_CLIENT_DEPRECATED, ...Object.keys(SESSION_EVENT_OF)];
