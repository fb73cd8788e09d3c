// Builds the demo page's copy of the client: client/index.ts, client/relay.ts, client/push.ts and
// client/push-sw.ts bundled for the browser into dev/demo/public/demo/kaleyra-client.js,
// kaleyra-relay.js, kaleyra-push.js and kaleyra-push-sw.js (gitignored), which wrangler serves from
// [assets]. (One bundle per entry: the relay and push import nothing of the core at run time; the
// service worker, dev/demo/public/demo-sw.js, imports kaleyra-push-sw.js.)
// Runs before `npm start` (the prestart script); takes well under a second.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: { "kaleyra-client": "client/index.ts", "kaleyra-relay": "client/relay.ts", "kaleyra-push": "client/push.ts", "kaleyra-push-sw": "client/push-sw.ts" },
  outdir: "dev/demo/public/demo",
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
console.log("demo: built dev/demo/public/demo/kaleyra-client.js, kaleyra-relay.js, kaleyra-push.js and kaleyra-push-sw.js");
