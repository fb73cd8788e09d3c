// Builds the demo page's copy of the client: client/index.ts and client/relay.ts bundled for the
// browser into dev/demo/public/demo/kaleyra-client.js and kaleyra-relay.js (gitignored), which
// wrangler serves from [assets]. (Two bundles: the relay imports nothing of the core at run time.)
// Runs before `npm start` (the prestart script); takes well under a second.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: { "kaleyra-client": "client/index.ts", "kaleyra-relay": "client/relay.ts" },
  outdir: "dev/demo/public/demo",
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
console.log("demo: built dev/demo/public/demo/kaleyra-client.js and kaleyra-relay.js");
