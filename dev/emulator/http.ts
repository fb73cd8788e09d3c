/**
 * What every emulator route shares: the host it runs on, the error shape
 * `{ error: <code>, message, field? }`, and strict JSON body parsing (unknown fields are refused,
 * so an adapter that sends a wrong field finds out here rather than against the real service).
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { FaultGate } from "./faults";
import type { EmulatorSockets } from "./socket";
import type { AppRow, EmulatorStore } from "./store";
import type { WebhookEvent } from "./webhooks";

export interface EmulatorHost {
  readonly store: EmulatorStore;
  readonly gate: FaultGate;
  /** The Socket.IO endpoint's open sockets (control and REST push events through it). */
  readonly sockets: EmulatorSockets;
  /** The emulator's clock: Date.now() plus the control API's offset. */
  now(): number;
  /** Signs, records in the outbox and delivers one webhook; resolves once delivery settled. */
  sendWebhook(app: AppRow, event: WebhookEvent, data: Record<string, unknown>): Promise<void>;
}

export type EmulatorEnv = { Variables: { app: AppRow } };

const MAX_BODY_BYTES = 65_536;

export function errorJson(c: Context, status: ContentfulStatusCode, error: string, message: string, field?: string): Response {
  return c.json(field === undefined ? { error, message } : { error, message, field }, status);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/** The body as a JSON object holding only `allowed` keys. */
export async function jsonObject(c: Context, allowed: readonly string[]): Promise<Parsed<Record<string, unknown>>> {
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) return { ok: false, response: errorJson(c, 413, "bad_request", "the body is too large") };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, response: errorJson(c, 400, "bad_request", "the body must be JSON", "body") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, response: errorJson(c, 400, "bad_request", "the body must be a JSON object", "body") };
  }
  const extra = Object.keys(value).find((k) => !allowed.includes(k));
  if (extra !== undefined) return { ok: false, response: errorJson(c, 400, "bad_request", `unknown field '${extra}'`, extra) };
  return { ok: true, value: value as Record<string, unknown> };
}

export function isHttpUrl(v: unknown): v is string {
  if (typeof v !== "string" || v.length > 2_048) return false;
  try {
    const url = new URL(v);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
