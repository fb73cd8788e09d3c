import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects on the test composition (test/worker.ts: the local composition of
 * wrangler.local.toml), differing in the remote the sessions use: "unit" with the in-process fake
 * (test/fake-remote.ts), "e2e" with the production adapter against the Kaleyra emulator. A third, "node", runs `*.node.test.ts` in Node: the checks
 * against Socket.IO's reference implementations (socket.io-client against the emulator served by
 * wrangler's unstable_startWorker, our realtime client against a socket.io server).
 */
const workers = (REMOTE: "fake" | "emulator") =>
  cloudflareTest({
    wrangler: { configPath: "./wrangler.local.toml" },
    // The test composition: dev/index.ts, with the sessions' remote named by REMOTE and a seam for tests.
    main: "./test/worker.ts",
    miniflare: {
      bindings: {
        ADMIN_TOKEN: "test-admin-token",
        TEST_CLOCK: "1",
        REMOTE,
        ATTACH_LIMIT_PER_MINUTE: "100000",
        // Unit tests hold the production rule (no loopback webhooks); e2e runs the local composition's.
        ALLOW_LOCAL_WEBHOOKS: REMOTE === "fake" ? "0" : "1",
      },
    },
  });

export default defineConfig({
  test: {
    // One runtime per test file, chosen (so vitest's "faster with isolate: false" hint is not
    // printed). Without it the workerd projects ran in 31 s instead of 70 s but were not correct:
    // files share module state (test/fake-remote.ts's fakeRemoteControls) and Durable Objects, and a
    // session another file left connected keeps firing its alarms into the next file's assertions
    // (test/reliability/faults.test.ts saw another file's remote open).
    isolate: true,
    projects: [
      { plugins: [workers("fake")], test: { name: "unit", include: ["**/*.test.ts"], exclude: ["test/e2e/**", "node_modules/**", "**/*.node.test.ts"] } },
      { plugins: [workers("emulator")], test: { name: "e2e", include: ["test/e2e/**/*.test.ts"] } },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["**/*.node.test.ts"],
          exclude: ["node_modules/**"],
          // Offline and quiet: no metrics, no Request.cf download (whose failure prints a getaddrinfo trace).
          env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
