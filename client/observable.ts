/**
 * A value that can be watched, like Kotlin's StateFlow: subscribe() hears the current value at
 * once, then every change. A listener that throws is reported and does not stop the others.
 */
export interface Observable<T> {
  readonly value: T;
  /** Returns a function that unsubscribes. */
  subscribe(listener: (value: T) => void): () => void;
}

export class ObservableValue<T> implements Observable<T> {
  readonly #listeners = new Set<(value: T) => void>();

  // Declared, not a class field: assigned in the constructor alone, which keeps the bundle small.
  declare value: T;

  constructor(value: T) {
    this.value = value;
  }

  subscribe(listener: (value: T) => void): () => void {
    // A wrapper per call, so subscribing one function twice gives two independent subscriptions.
    const entry = (v: T) => listener(v);
    this.#listeners.add(entry);
    tell(entry, this.value);
    return () => this.#listeners.delete(entry);
  }

  set(value: T): void {
    this.value = value;
    for (const listener of [...this.#listeners]) tell(listener, value);
  }
}

function tell<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch (err) {
    console.error(err);
  }
}
