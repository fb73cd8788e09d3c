/**
 * The packed client as an app gets it: `npm pack` (which builds dist/client), then a new project per
 * module resolution (`tsc --init`'s defaults, skipLibCheck included) installs the tarball offline and
 * compiles a file with three mistakes. Types that silently became `any` would give 0 errors, so
 * each project must report exactly those three. arethetypeswrong checks the same tarball.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
const tsc = join(root, "node_modules/typescript/bin/tsc");
const attw = join(root, "node_modules/@arethetypeswrong/cli/dist/index.js");
const TIMEOUT = 90_000;

let dir: string;
let tarball: string;

/** Runs a command; resolves with its output and exit code instead of throwing on a failure. */
async function sh(file: string, args: string[], cwd: string): Promise<{ code: number; out: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout: TIMEOUT, maxBuffer: 8 << 20 });
    return { code: 0, out: stdout + stderr, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}`, stdout: e.stdout ?? "" };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kaleyra-edge-package-"));
  const packed = await sh("npm", ["pack", "--json", "--pack-destination", dir], root);
  expect(packed.code, packed.out).toBe(0);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string; files: { path: string }[] }];
  tarball = join(dir, info.filename);
  expect(info.files.map((f) => f.path)).toContain("dist/client/esm-only.cjs");
}, TIMEOUT);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const MISTAKES = `import { KaleyraVideo } from "kaleyra-edge/client";

const k = new KaleyraVideo({ server: "https://edge.example.com", bogusOption: 1 });
const n: number = k.state.value.status;
k.nope();
export { n };
`;

/** A consumer project made as a newcomer makes one: package.json, `tsc --init`, the tarball installed. */
async function consumer(name: string): Promise<string> {
  const project = join(dir, name);
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: `consumer-${name}`, private: true, type: "module" }));
  expect((await sh(process.execPath, [tsc, "--init"], project)).code).toBe(0);
  const installed = await sh("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], project);
  expect(installed.code, installed.out).toBe(0);
  return project;
}

/** `file(line,col): error TSxxxx: …` lines of tsc's output, as [line, code]. */
const errorsOf = (out: string) => [...out.matchAll(/^[\w.]+\((\d+),\d+\): error (TS\d+):/gm)].map((m) => [Number(m[1]), m[2]]);

describe("the packed client's types, in a new project with tsc --init's defaults", () => {
  const resolutions = [
    { moduleResolution: "node16", module: "node16" },
    { moduleResolution: "nodenext", module: "nodenext" },
    { moduleResolution: "bundler", module: "preserve" },
  ];
  it.concurrent.each(resolutions)(
    "under moduleResolution $moduleResolution, report the unknown option, the wrong assignment and the unknown method",
    async ({ module, moduleResolution }) => {
      const project = await consumer(moduleResolution);
      writeFileSync(join(project, "index.ts"), MISTAKES);
      const compiled = await sh(process.execPath, [tsc, "-p", ".", "--noEmit", "--module", module, "--moduleResolution", moduleResolution], project);
      expect(compiled.out).toContain("'bogusOption' does not exist in type 'KaleyraVideoOptions'");
      expect(compiled.out).toContain("Property 'nope' does not exist on type 'KaleyraVideo'");
      expect(errorsOf(compiled.out)).toEqual([
        [3, "TS2353"],
        [4, "TS2322"],
        [5, "TS2339"],
      ]);
    },
    TIMEOUT,
  );

  it(
    "a CommonJS consumer is told to import() it: TypeScript says so, and require() throws one line saying so",
    async () => {
      const project = await consumer("commonjs");
      writeFileSync(join(project, "index.cts"), `import { KaleyraVideo } from "kaleyra-edge/client";\nexport = KaleyraVideo;\n`);
      const compiled = await sh(process.execPath, [tsc, "--noEmit", "--skipLibCheck", "--module", "node16", "--moduleResolution", "node16", "index.cts"], project);
      expect(errorsOf(compiled.out)).toEqual([[1, "TS1479"]]);
      expect(compiled.out).toContain(`dynamic 'import("kaleyra-edge/client")'`);

      const required = await sh(process.execPath, ["-e", `require("kaleyra-edge/client")`], project);
      expect(required.code).not.toBe(0);
      expect(required.out).toContain("Error: kaleyra-edge/client is ESM-only: load it with import()");
      const imported = await sh(process.execPath, ["--input-type=module", "-e", `const m = await import("kaleyra-edge/client"); console.log(typeof m.KaleyraVideo)`], project);
      expect(imported.stdout).toBe("function\n");
    },
    TIMEOUT,
  );
});

describe("arethetypeswrong on the packed client", () => {
  it(
    "finds no problem for ESM consumers (node16, bundler); CommonJS is out of scope on purpose",
    async () => {
      // esm-only: node10 and require() from node16 are not supported resolutions. false-esm: the
      // `require` condition's file only throws the ESM-only hint, while the types stay ESM so that
      // TypeScript tells a CommonJS file to use import() (TS1479, the test above).
      const checked = await sh(process.execPath, [attw, "--profile", "esm-only", "--ignore-rules", "false-esm", "--format", "ascii", tarball], dir);
      expect(checked.out).toMatch(/node16 \(from ESM\): \S+ \(ESM\)/);
      expect(checked.code, checked.out).toBe(0);
    },
    TIMEOUT,
  );
});
