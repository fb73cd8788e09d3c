/** A value or a stable-coded error; used instead of exceptions across every boundary. */
import type { KaleyraError } from "./errors";

export type Result<T> = { ok: true; value: T } | { ok: false; error: KaleyraError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: KaleyraError): Result<T> => ({ ok: false, error });
