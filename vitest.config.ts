import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.local.toml" },
      miniflare: {
        bindings: { ADMIN_TOKEN: "test-admin-token", TEST_CLOCK: "1" },
      },
    }),
  ],
});
