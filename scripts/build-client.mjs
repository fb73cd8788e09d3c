#!/usr/bin/env node
// Builds the published client, dist/client (`npm run build:client`; `npm pack` runs it):
//   1. the ESM bundles with esbuild (index, android-bridge, relay, push, push-sw, and their shared chunks);
//   2. the declarations with tsc (client/tsconfig.json) under dist/client/types/{client,core};
//   3. the declarations' relative specifiers rewritten to the files Node would load
//      (`./errors` -> `./errors.js`, `./dir` -> `./dir/index.js`), because under
//      `moduleResolution: node16 | nodenext` TypeScript resolves a declaration's imports as Node
//      resolves ESM: without the extension nothing resolves and every type silently becomes `any`.
//      The sources keep extensionless imports (the bundler and workerd resolve them), so the
//      build, not the sources, owns the published form (docs/client.md, "Install");
//   4. dist/client/esm-only.cjs, what `require("kaleyra-edge/client")` loads: one line that says
//      the package is ESM-only, instead of Node's ERR_PACKAGE_PATH_NOT_EXPORTED.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/client");

rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ["client/index.ts", "client/android-bridge.ts", "client/relay.ts", "client/push.ts", "client/push-sw.ts"],
  bundle: true,
  format: "esm",
  minify: true,
  splitting: true,
  logLevel: "warning",
  outdir: out,
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "client/tsconfig.json")], { stdio: "inherit" });

/** `from "./x"` / `import("./x")` with a relative specifier, in a declaration file. */
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*)\2/g;

/** The specifier Node resolves to the declaration beside `file`; throws when there is none. */
function nodeSpecifier(file, specifier) {
  if (/\.(c|m)?js$/.test(specifier)) return specifier;
  const target = join(dirname(file), specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, "index.d.ts"))) return `${specifier.replace(/\/$/, "")}/index.js`;
  throw new Error(`${relative(root, file)}: no declaration for "${specifier}"`);
}

function* declarations(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarations(path);
    else if (name.endsWith(".d.ts")) yield path;
  }
}

for (const file of declarations(join(out, "types"))) {
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(RELATIVE_SPECIFIER, (_, lead, quote, spec) => `${lead}${quote}${nodeSpecifier(file, spec)}${quote}`);
  if (fixed !== text) writeFileSync(file, fixed);
}

writeFileSync(
  join(out, "esm-only.cjs"),
  `throw new Error('kaleyra-edge/client is ESM-only: load it with import() or from an ES module, not require() (docs/client.md, "Install")');\n`,
);
