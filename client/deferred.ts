/** A promise with its resolve and reject at hand, settled by whoever holds it (Promise.withResolvers, for older runtimes). */
import type { KaleyraError } from "./errors";

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: KaleyraError): void;
}

export function deferred<T>(): Deferred<T> {
  const d = {} as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => Object.assign(d, { resolve, reject }));
  return d;
}
