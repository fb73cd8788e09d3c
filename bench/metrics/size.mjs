/**
 * 7. Client size, min+gzip, beside the peers, every one bundled the same way as
 * scripts/client-size.mjs does it: esbuild --bundle --minify --format=esm for the browser, then
 * gzip -9 (the whole public entry, `export * from "<pkg>"`, so nothing is tree-shaken away).
 *
 * partysocket and socket.io-client are dev dependencies. centrifuge is not: it depends on
 * protobufjs, whose install script would need an allowScripts entry, so it is fetched here with
 * `npm pack` (a tarball, no install, no scripts) into bench/.cache, with the one module its
 * JSON entry imports (events), and bundled from there. Without the registry it is reported as
 * not measured.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { ROOT } from "../lib/proc.mjs";

const CENTRIFUGE = { name: "centrifuge", version: "5.8.0", deps: [["events", "3.3.0"]] };
const CACHE = join(ROOT, "bench", ".cache", "packs");

async function measure(options) {
  const result = await build({ bundle: true, minify: true, format: "esm", write: false, logLevel: "silent", absWorkingDir: ROOT, platform: "browser", ...options });
  const code = result.outputFiles[0].contents;
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

const entryOf = (pkg) => ({ stdin: { contents: `export * from ${JSON.stringify(pkg)};`, resolveDir: ROOT } });

/** Unpacks name@version (and deps) into bench/.cache/packs/node_modules; returns the folder or an error. */
function packed({ name, version, deps }) {
  const modules = join(CACHE, "node_modules");
  const wanted = [[name, version], ...deps];
  try {
    for (const [pkg, v] of wanted) {
      const dir = join(modules, pkg);
      if (existsSync(join(dir, "package.json")) && JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version === v) continue;
      mkdirSync(dir, { recursive: true });
      const tarballDir = join(CACHE, "tarballs");
      mkdirSync(tarballDir, { recursive: true });
      execFileSync("npm", ["pack", `${pkg}@${v}`, "--pack-destination", tarballDir, "--silent"], { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
      const tgz = readdirSync(tarballDir).find((f) => f === `${pkg}-${v}.tgz`);
      if (!tgz) throw new Error(`npm pack left no ${pkg}-${v}.tgz`);
      execFileSync("tar", ["xzf", join(tarballDir, tgz), "-C", dir, "--strip-components=1"], { timeout: 60_000 });
    }
    return { dir: CACHE };
  } catch (err) {
    return { error: String(err.message ?? err).split("\n")[0] };
  }
}

export async function runSize(ctx) {
  const { say } = ctx;
  const ours = await measure({ entryPoints: ["client/index.ts"] });
  const bridge = await measure({ entryPoints: ["client/android-bridge.ts"] });
  say(`size: client/index.ts ${ours.gzip} B min+gzip (${ours.min} B min); android-bridge ${bridge.gzip} B`);
  const peers = {};
  const detail = {};
  for (const pkg of ["partysocket", "socket.io-client"]) {
    try {
      const version = JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
      const m = await measure(entryOf(pkg));
      peers[pkg] = m.gzip;
      detail[pkg] = { version, ...m };
    } catch (err) {
      detail[pkg] = { error: String(err.message ?? err).split("\n")[0] };
    }
  }
  const pack = packed(CENTRIFUGE);
  if (pack.error) {
    detail.centrifuge = { version: CENTRIFUGE.version, error: `not measured: ${pack.error}` };
  } else {
    try {
      const m = await measure({ stdin: { contents: `export * from "centrifuge";`, resolveDir: pack.dir }, nodePaths: [join(pack.dir, "node_modules")] });
      peers.centrifuge = m.gzip;
      detail.centrifuge = { version: CENTRIFUGE.version, source: "npm pack (not installed)", ...m };
    } catch (err) {
      detail.centrifuge = { version: CENTRIFUGE.version, error: String(err.message ?? err).split("\n")[0] };
    }
  }
  for (const [pkg, d] of Object.entries(detail)) say(`size: ${pkg}@${d.version ?? "?"} ${d.gzip !== undefined ? `${d.gzip} B min+gzip (${d.min} B min)` : d.error}`);
  return {
    client_gzip_bytes: ours.gzip,
    peer_client_gzip_bytes: peers,
    detail: { "client/index.ts": ours, "client/android-bridge.ts": bridge, ...detail },
  };
}
