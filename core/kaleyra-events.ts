/**
 * The events of Kaleyra's realtime connection that belong to the session's own lifecycle [web]
 * (KALEYRA-FACTS.md): the adapter turns them into the port's notices (core/port.ts), and the relay
 * never carries them, either way (core/relay.ts).
 */
export const EVENT_CONNECTED = "switchboard:connected";
export const EVENT_TOKEN_ABOUT_TO_EXPIRE = "switchboard:access_token:is_about_to_expire";
export const EVENT_TOKEN_EXPIRED = "switchboard:access_token:expired";
export const EVENT_TOKEN_UPDATE = "switchboard:access_token:update";
export const EVENT_FORCE_DISCONNECT = "user:force_disconnect";
export const EVENT_CLIENT_DEPRECATED = "switchboard:client:deprecated";

/** Every lifecycle event name: never relayed down, never emitted by a client. */
export const LIFECYCLE_EVENTS: readonly string[] = [
  EVENT_CONNECTED,
  EVENT_TOKEN_ABOUT_TO_EXPIRE,
  EVENT_TOKEN_EXPIRED,
  EVENT_TOKEN_UPDATE,
  EVENT_FORCE_DISCONNECT,
  EVENT_CLIENT_DEPRECATED,
];
