import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects on the same local composition (wrangler.local.toml), differing in the remote the
 * sessions use: "unit" with the in-process fake (remote/fake.ts), "e2e" with the production
 * adapter against the Kaleyra emulator. A third, "node", runs `*.node.test.ts` in Node: the checks
 * against Socket.IO's reference implementations (socket.io-client against the emulator served by
 * wrangler's unstable_startWorker, our realtime client against a socket.io server).
 */
const workers = (REMOTE: "fake" | "emulator") =>
  cloudflareTest({
    wrangler: { configPath: "./wrangler.local.toml" },
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
    projects: [
      { plugins: [workers("fake")], test: { name: "unit", include: ["**/*.test.ts"], exclude: ["test/e2e/**", "node_modules/**", "**/*.node.test.ts"] } },
      { plugins: [workers("emulator")], test: { name: "e2e", include: ["test/e2e/**/*.test.ts"] } },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["**/*.node.test.ts"],
          exclude: ["node_modules/**"],
          env: { WRANGLER_SEND_METRICS: "false" },
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
