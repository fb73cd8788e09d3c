#!/usr/bin/env node
// The first step of `npm start`, `npm test` and the other scripts that run the tools: wrangler,
// Miniflare, workerd and vitest need Node 22.12 or later. The `node` dev dependency (Node 22) is
// first on the PATH of every npm script, so this runs on an older Node only when that dependency
// is missing (its install script did not run, e.g. `npm ci --ignore-scripts`, or an npm older than
// 11 that ignores package.json's allowScripts). Then it says so in one line, before any tool
// prints its own error (some print a whole minified source line first).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `kaleyra-edge: use Node 22 (22.12 or later); this runs on Node ${process.versions.node}. The \`node\` dev dependency provides it to npm scripts: reinstall with \`npm ci\` (npm 11, install scripts allowed), or put Node 22 first on your PATH.`,
  );
  process.exit(1);
}
