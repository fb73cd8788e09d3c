/**
 * The seam tests reach a session's remote through (test/worker.ts): the composition's adapter,
 * with some of its methods replaced (`override`: a remote that hangs, throws or runs a step in the
 * middle of an open) or all of it made anew (`renew`: no connection left, as after an eviction;
 * `use`: from another factory, as the unit project's connector tests put a session over the
 * connectors). Production sessions have no such seam: their remote is fixed when the object is made.
 */
import type { CloseSessionRequest, ConnectorReport, MintAccessTokenRequest, OpenSessionRequest, Remote, RemoteListener, RemoteNotice } from "../core/port";

export class TestRemote implements Remote {
  private real: Remote;
  private overrides: Partial<Remote> = {};
  private listener: RemoteListener | undefined;

  constructor(private make: () => Remote) {
    this.real = make();
  }

  /** The adapter in use now (the composition's, or the last one `renew` or `use` made). */
  get adapter(): Remote {
    return this.real;
  }

  /** From now on the adapter is `make`'s (made at once, given the current one): renew uses it too. */
  use(make: (current: Remote) => Remote): void {
    const current = this.real;
    this.make = () => make(current);
    this.renew();
  }

  /** Replaces some methods of the adapter; `methods` gets the adapter itself, to call through. */
  override(methods: (real: Remote) => Partial<Remote>): void {
    Object.assign(this.overrides, methods(this.real));
  }

  /** A new adapter with no connection (as after an eviction or a restart); overrides are dropped. */
  renew(): void {
    this.real = this.make();
    this.overrides = {};
    if (this.listener) this.real.listen(this.listener);
  }

  private pick<K extends keyof Remote>(name: K): Remote[K] {
    return (this.overrides[name] ?? (this.real[name] as Remote[K] & ((...args: never[]) => unknown)).bind(this.real)) as Remote[K];
  }

  openSession(request: OpenSessionRequest) {
    return this.pick("openSession")(request);
  }
  closeSession(request: CloseSessionRequest) {
    return this.pick("closeSession")(request);
  }
  updateToken(sessionId: string, token: string) {
    return this.pick("updateToken")(sessionId, token);
  }
  emit(sessionId: string, name: string, data: unknown) {
    return this.pick("emit")(sessionId, name, data);
  }
  isAlive(sessionId: string) {
    return this.pick("isAlive")(sessionId);
  }
  tokenUserId(token: string) {
    return this.pick("tokenUserId")(token);
  }
  nextDeadline() {
    return this.pick("nextDeadline")();
  }
  check() {
    return this.pick("check")();
  }
  mintAccessToken(request: MintAccessTokenRequest) {
    return this.pick("mintAccessToken")(request);
  }
  settled(sessionId: string): void {
    this.real.settled?.(sessionId);
  }
  receive(batch: readonly ConnectorReport[], current: () => string | undefined, deliver: (sessionId: string, notice: RemoteNotice) => Promise<void>) {
    // An adapter that holds its own connections takes no reports: every one is disowned.
    return this.real.receive ? this.real.receive(batch, current, deliver) : Promise.resolve({ disowned: batch.map((r) => r.connectionId) });
  }
  listen(listener: RemoteListener): void {
    this.listener = listener;
    this.real.listen(listener);
  }
}
