/** Where a CONNECT_ERROR carries its error name. The lifecycle event names are core's (core/kaleyra-events.ts). */
import { isObject } from "../../core/object";

/**
 * The error name of a CONNECT_ERROR: `{message}` as a Socket.IO server writes `next(new Error(name))`,
 * or a bare string, or `{name}` / `{data: {name}}`. Which of these Kaleyra sends is not documented.
 */
export function connectErrorName(data: unknown): string {
  const candidates = isObject(data)
    ? [isObject(data.data) ? data.data.name : data.data, data.name, data.message]
    : [data];
  const strings = candidates.filter((v): v is string => typeof v === "string" && v.length > 0 && v.length <= 200);
  return strings.find((v) => ERROR_NAME.test(v)) ?? strings[0] ?? "unknown";
}

/** Kaleyra's error names are snake_case words (access_token_expired, app_id_invalid, ...). */
const ERROR_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
