/**
 * The test composition (vitest.config.ts `main`): the local composition (dev/index.ts), with each
 * session's remote named by the REMOTE binding: "fake", the in-process fake (test/fake-remote.ts),
 * for the unit project; "emulator", the production adapter against the emulator, for e2e. Tests
 * reach it through `testRemote` (test/test-remote.ts) inside runInDurableObject.
 */
import { UserSession as Session } from "../durable-objects/UserSession";
import { localRemote } from "../dev/remote";
import type { DevEnv } from "../dev/bindings";
import { FakeRemote } from "./fake-remote";
import { TestRemote } from "./test-remote";

export { default, AppRegistry, AppState, KaleyraEmulator } from "../dev/index";

export class UserSession extends Session {
  readonly testRemote: TestRemote;

  constructor(ctx: DurableObjectState, env: DevEnv) {
    const remote = new TestRemote(() => (env.REMOTE === "fake" ? new FakeRemote() : localRemote(env)));
    super(ctx, env, remote);
    this.testRemote = remote;
  }
}
