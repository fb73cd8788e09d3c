/**
 * The seam tests reach a session's remote through (test/worker.ts): the composition's adapter,
 * with some of its methods replaced (`override`: a remote that hangs, throws or runs a step in the
 * middle of an open) or all of it made anew (`renew`: no connection left, as after an eviction).
 * Production sessions have no such seam: their remote is fixed when the object is made.
 */
import type { CloseSessionRequest, MintAccessTokenRequest, OpenSessionRequest, Remote, RemoteListener } from "../core/port";

export class TestRemote implements Remote {
  private real: Remote;
  private overrides: Partial<Remote> = {};
  private listener: RemoteListener | undefined;

  constructor(private readonly make: () => Remote) {
    this.real = make();
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
  listen(listener: RemoteListener): void {
    this.listener = listener;
    this.real.listen(listener);
  }
}
