/**
 * One direction of dependencies (docs/architecture.md, "Layers"): every import of the source
 * folders below, read with the TypeScript compiler's own pre-processor, must point the way the
 * table allows. Tests (`*.test.ts`, test/) may import anything; dev/ may import anything but
 * tests; nothing else may import dev/ or test/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..");

/** Which layers each layer's files may import, besides their own. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  crypto: [],
  core: [],
  client: ["core"],
  remote: ["core", "crypto"],
  "durable-objects": ["core", "crypto"],
  worker: ["core", "crypto", "remote", "durable-objects"],
  dev: ["core", "crypto", "remote", "durable-objects", "worker"],
};

/** The one file of durable-objects/ the layers above may import: its public surface. */
const PUBLIC_SURFACE: Record<string, string> = { "durable-objects": "durable-objects/index.ts" };
/** Layers that may reach past a public surface (the local composition wires the objects' parts). */
const PAST_SURFACES = new Set(["dev"]);

const isTest = (file: string) => file.endsWith(".test.ts") || file.startsWith("test/");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === "node_modules" || name === "public" ? [] : sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The project file an import names, repo-relative; undefined for a package. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = join(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.mts`, join(base, "index.ts")]) {
    try {
      if (statSync(join(ROOT, candidate)).isFile()) return relative(ROOT, join(ROOT, candidate));
    } catch {
      // not this one
    }
  }
  return relative(ROOT, join(ROOT, base));
}

const layerOf = (file: string) => file.split("/")[0] ?? "";

/** Every import that points the wrong way, as "file -> target: why". */
function wrongWayImports(files: readonly string[], read: (file: string) => string): string[] {
  const wrong: string[] = [];
  for (const file of files) {
    if (isTest(file)) continue;
    const from = layerOf(file);
    for (const { fileName } of ts.preProcessFile(read(file), true, true).importedFiles) {
      const target = resolveImport(file, fileName);
      if (target === undefined) continue;
      const to = layerOf(target);
      if (to === from) continue;
      if (isTest(target)) wrong.push(`${file} -> ${target}: production code never imports tests`);
      else if (!MAY_IMPORT[from]?.includes(to)) wrong.push(`${file} -> ${target}: ${from}/ may not import ${to}/`);
      else if (PUBLIC_SURFACE[to] !== undefined && target !== PUBLIC_SURFACE[to] && !PAST_SURFACES.has(from)) wrong.push(`${file} -> ${target}: ${from}/ imports ${to}/ through ${PUBLIC_SURFACE[to]} only`);
    }
  }
  return wrong;
}

describe("layers", () => {
  const files = Object.keys(MAY_IMPORT).flatMap(sourceFiles);

  it("every import points the way docs/architecture.md draws it", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(wrongWayImports(files, (file) => readFileSync(join(ROOT, file), "utf8"))).toEqual([]);
  });

  it("the check sees a wrong-way import (a session importing the Worker, core importing the objects)", () => {
    const planted: Record<string, string> = {
      "durable-objects/planted.ts": 'import { app } from "../worker/app";',
      "core/planted.ts": 'import type { Env } from "../durable-objects";',
      "worker/planted.ts": 'import { SessionRelay } from "../durable-objects/relay";',
      "remote/planted.ts": 'export { localRemote } from "../dev/remote";',
    };
    expect(wrongWayImports(Object.keys(planted), (file) => planted[file]!)).toEqual([
      "durable-objects/planted.ts -> worker/app.ts: durable-objects/ may not import worker/",
      "core/planted.ts -> durable-objects/index.ts: core/ may not import durable-objects/",
      "worker/planted.ts -> durable-objects/relay.ts: worker/ imports durable-objects/ through durable-objects/index.ts only",
      "remote/planted.ts -> dev/remote.ts: remote/ may not import dev/",
    ]);
  });
});
