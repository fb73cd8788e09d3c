/** docs/protocol.md's error table against core/errors.ts: the same codes both ways, and the same HTTP statuses where the table names one. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_MESSAGES, statusOf, type ErrorCode } from "./errors";

const doc = readFileSync(join(__dirname, "../docs/protocol.md"), "utf8");
const section = doc.slice(doc.indexOf("## Error codes (stable)"), doc.indexOf("\n#", doc.indexOf("## Error codes (stable)") + 1));
/** The table's rows after its header: the codes of the first column, and the second column. */
const rows = section
  .split("\n")
  .filter((line) => line.startsWith("| `"))
  .map((line) => {
    const [codes = "", where = ""] = line.split("|").slice(1, 3);
    return { codes: [...codes.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!), where };
  });

describe("docs/protocol.md, Error codes (stable)", () => {
  it("lists every code of core/errors.ts, and no other", () => {
    const documented = rows.flatMap((r) => r.codes);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.keys(ERROR_MESSAGES).sort());
  });

  it("names the HTTP status core answers, where it names one", () => {
    const named = rows.flatMap((r) => {
      const status = /\((\d{3})\)/.exec(r.where)?.[1];
      return status === undefined ? [] : r.codes.map((code) => [code, Number(status)] as const);
    });
    expect(named.length).toBeGreaterThan(0);
    for (const [code, status] of named) expect([code, statusOf(code as ErrorCode)]).toEqual([code, status]);
  });
});
