/**
 * /openapi.json under Redocly's recommended rules (redocly.yaml), as a code generator's user would
 * lint it: the document the local Worker serves, linted offline with the exceptions of
 * .redocly.lint-ignore.yaml, each of which must still be needed.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "../test/node/local-worker";

const root = join(import.meta.dirname, "..");
const redocly = join(root, "node_modules/@redocly/cli/bin/cli.js");
let worker: LocalWorker | undefined;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kaleyra-edge-openapi-"));
  worker = await startLocalWorker();
});

afterAll(async () => {
  await worker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

type Lint = { totals: { errors: number; warnings: number; ignored: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };

it("has no error and no warning under Redocly's recommended rules, besides the exceptions on file", async () => {
  const res = await fetch(`${worker!.base}/openapi.json`);
  expect(res.status).toBe(200);
  // The ignore file names the document as `openapi.json`, beside the config.
  writeFileSync(join(dir, "openapi.json"), await res.text());
  for (const file of ["redocly.yaml", ".redocly.lint-ignore.yaml"]) copyFileSync(join(root, file), join(dir, file));

  const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };
  const run = await promisify(execFile)(process.execPath, [redocly, "lint", "openapi.json", "--format", "json"], { cwd: dir, env, timeout: 30_000 }).catch((e: { stdout: string }) => e);
  const lint = JSON.parse(run.stdout) as Lint;
  const problems = lint.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
  expect(problems).toEqual([]);
  expect(lint.totals).toEqual({ errors: 0, warnings: 0, ignored: ignoredEntries() });
}, 60_000);

/** How many exceptions the ignore file lists: every one must match a problem, or it is stale. */
function ignoredEntries(): number {
  return readFileSync(join(root, ".redocly.lint-ignore.yaml"), "utf8").split("\n").filter((line) => /^\s+- '/.test(line)).length;
}
