import { describe, expect, it } from "vitest";
import { mismatches, parsePattern, undeclaredKeys } from "../../scripts/lib/doc-json.mjs";

const match = (documented: string, actual: unknown, seen?: Map<string, string>) => mismatches(parsePattern(documented)[0], actual, "$", seen);

describe("README answers as patterns (scripts/readme-check.mjs)", () => {
  it("a closed object fails on an undocumented key and on a missing one", () => {
    expect(match('{"appId":"a","createdAt":…}', { appId: "a", createdAt: 1, epoch: "e" })).toEqual(["$.epoch: in the answer, not documented"]);
    expect(match('{"appId":"a","epoch":"…"}', { appId: "a" })).toEqual(["$.epoch: documented, missing from the answer"]);
  });

  it("an object with … is open; values compare exactly unless they are … or made on each run", () => {
    expect(match('{"view":{"status":"disconnecting",…},"clients":1}', { view: { status: "disconnected", x: 1 }, clients: 1 })).toEqual(['$.view.status: "disconnecting" was documented, got "disconnected"']);
    expect(match('{"at":1796043380673,"id":"5c3c58702a06","t":"eyJ…","m":"Send …; …"}', { at: 5, id: "0123456789ab", t: "eyJx", m: "Send it; now" })).toEqual([]);
    expect(match('{"status":1}', { status: 2 })).toEqual(["$.status: 1 was documented, got 2"]);
  });

  it("records a documented key for the real one, and reads JSON spread over lines with prose after it", () => {
    const seen = new Map<string, string>();
    expect(match('{"key":"kte_5c3c58702a06_wVbmq1ut…"}   the key is shown once', { key: "kte_0123456789ab_xyz" }, seen)).toEqual([]);
    expect(seen.get("kte_5c3c58702a06_wVbmq1ut")).toBe("kte_0123456789ab_xyz");
    expect(match('{"paths":{…13 paths…},"list":[{"a":1},…]}', { paths: { "/x": {} }, list: [{ a: 1 }, { b: 2 }] })).toEqual([]);
    expect(() => parsePattern('{"a":')).toThrow(/expected a value/);
  });

  it("finds keys an OpenAPI schema does not declare, through $refs and items", () => {
    const components = { View: { type: "object", properties: { status: { type: "string" } } } };
    const schema = { type: "object", properties: { view: { $ref: "#/components/schemas/View" }, list: { type: "array", items: { $ref: "#/components/schemas/View" } } } };
    expect(undeclaredKeys(schema, { view: { status: "x", refreshAt: 1 }, list: [{ status: "y", epoch: "e" }] }, components)).toEqual(["$.view.refreshAt", "$.list[0].epoch"]);
  });
});
