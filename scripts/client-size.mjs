#!/usr/bin/env node
// Measures the browser client as shipped: esbuild --bundle --minify --format=esm, then gzip -9.
// Budget: client/index.ts under 4 KB min+gzip (the Android bridge, the relay and the push helpers
// are separate entries, each reported on its own line; each bundle includes the core it imports). For comparison it also bundles common realtime client libraries when they
// happen to be installed; the project depends on none of them. Exits 1 when over budget.
// --check (run by `npm test`): only the budget, as one line of output.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUDGET_GZIP_BYTES = 4096;

async function measure(options) {
  const result = await build({ bundle: true, minify: true, format: "esm", write: false, logLevel: "silent", absWorkingDir: root, ...options });
  const code = result.outputFiles[0].contents;
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

const row = (name, size) => console.log(`${name.padEnd(28)} ${String(size.min).padStart(7)} B min  ${String(size.gzip).padStart(6)} B min+gzip`);

const client = await measure({ entryPoints: ["client/index.ts"] });
const over = client.gzip > BUDGET_GZIP_BYTES;

if (process.argv.includes("--check")) {
  const verdict = over ? `over the ${BUDGET_GZIP_BYTES} B budget` : `${BUDGET_GZIP_BYTES - client.gzip} B under the ${BUDGET_GZIP_BYTES} B budget`;
  (over ? console.error : console.log)(`client/index.ts: ${client.gzip} B min+gzip, ${verdict}`);
  process.exit(over ? 1 : 0);
}

row("client/index.ts", client);
row("client/android-bridge.ts", await measure({ entryPoints: ["client/android-bridge.ts"] }));
row("client/relay.ts", await measure({ entryPoints: ["client/relay.ts"] }));
row("client/push.ts", await measure({ entryPoints: ["client/push.ts"] }));
row("client/push-sw.ts", await measure({ entryPoints: ["client/push-sw.ts"] }));

for (const pkg of ["partysocket", "centrifuge", "socket.io-client"]) {
  if (!existsSync(join(root, "node_modules", pkg, "package.json"))) {
    console.log(`${pkg.padEnd(28)} not installed`);
    continue;
  }
  try {
    row(pkg, await measure({ stdin: { contents: `export * from ${JSON.stringify(pkg)};`, resolveDir: root }, platform: "browser" }));
  } catch (err) {
    console.log(`${pkg.padEnd(28)} failed to bundle: ${err.message.split("\n")[0]}`);
  }
}

if (over) {
  console.error(`client/index.ts is ${client.gzip} B min+gzip, over the ${BUDGET_GZIP_BYTES} B budget`);
  process.exit(1);
}
