/**
 * The test composition (vitest.config.ts `main`): the local composition (dev/index.ts), with each
 * session's remote named by the REMOTE binding: "fake", the in-process fake (test/fake-remote.ts),
 * for the unit project; "emulator", the production adapter against the emulator through the
 * connectors, as `npm start` runs it, for e2e. Tests reach it through `testRemote`
 * (test/test-remote.ts) inside runInDurableObject; the connector tests of the unit project put a
 * session over the connectors with `testRemote.use` (test/connector-harness.ts), whose own
 * upstream is then the fake.
 */
import { connectorRemote, UserSession as Session } from "../durable-objects";
import { LocalConnector } from "../dev/connectors";
import { localRemote, localUpstream } from "../dev/remote";
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
    const remote = new TestRemote(() => (env.REMOTE === "fake" ? new FakeRemote() : connectorRemote(ctx, env, localRemote(env), { locationHints: false })));
    super(ctx, env, remote, wakeSender(localPushFetch(env, [TEST_PUSH_HOST])));
    this.testRemote = remote;
  }
}

/** Connectors as `npm start` runs them; in the unit project their upstream is the in-process fake. */
export class KaleyraConnector extends LocalConnector {
  constructor(ctx: DurableObjectState, env: DevEnv) {
    super(ctx, env, (gate) => (env.REMOTE === "fake" ? new FakeRemote() : localUpstream(env, gate)));
  }
}
