// Builds the demo page's copy of the client: client/index.ts bundled for the browser into
// dev/demo/public/demo/kaleyra-client.js (gitignored), which wrangler serves from [assets].
// Runs before `npm start` (the prestart script); takes well under a second.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ["client/index.ts"],
  outfile: "dev/demo/public/demo/kaleyra-client.js",
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
console.log("demo: built dev/demo/public/demo/kaleyra-client.js");
