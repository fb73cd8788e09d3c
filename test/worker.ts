/**
 * The test composition (vitest.config.ts `main`): the local composition (dev/index.ts), with each
 * session's remote named by the REMOTE binding: "fake", the in-process fake (test/fake-remote.ts),
 * for the unit project; "emulator", the production adapter against the emulator, for e2e. Tests
 * reach it through `testRemote` (test/test-remote.ts) inside runInDurableObject.
 */
import { UserSession as Session } from "../durable-objects/UserSession";
import { localRemote } from "../dev/remote";
import { localPushFetch } from "../dev/local-push";
import { wakeSender } from "../remote/push";
import type { DevEnv } from "../dev/bindings";
import { FakeRemote } from "./fake-remote";
import { TestRemote } from "./test-remote";

export { default, AppRegistry, AppState, KaleyraEmulator, LocalPush } from "../dev/index";

/**
 * Push services the tests reach in process besides loopback: a public name, so the unit project
 * (which holds the production rule, no loopback) can deliver pushes too.
 */
export const TEST_PUSH_HOST = "push.example.net";

export class UserSession extends Session {
  readonly testRemote: TestRemote;

  constructor(ctx: DurableObjectState, env: DevEnv) {
    const remote = new TestRemote(() => (env.REMOTE === "fake" ? new FakeRemote() : localRemote(env)));
    super(ctx, env, remote, wakeSender(localPushFetch(env, [TEST_PUSH_HOST])));
    this.testRemote = remote;
  }
}
