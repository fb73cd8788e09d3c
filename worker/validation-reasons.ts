/**
 * What zod found wrong, in the API's words, as the `reason` of an error detail: "must be one of
 * eu, in, us, me", "must be an integer from 1 to 3600", "is required: one of production, sandbox",
 * "is not a known key; did you mean environment?". The rule is read from the schema that owns the
 * issue, so the reason states the whole rule (both ends of a range), not only the bound that was
 * crossed. A message a schema sets itself (a refine's, or a check's `error`) wins over these.
 * Reasons never quote the input: a refused body may hold a secret.
 */
import { z } from "@hono/zod-openapi";

type RawIssue = z.core.$ZodRawIssue;
type CheckDef = { check?: string; value?: number; inclusive?: boolean; format?: string; minimum?: number; maximum?: number; pattern?: RegExp };
type SchemaDef = { type: string; checks?: { _zod: { def: CheckDef } }[]; entries?: Record<string, unknown>; values?: unknown[]; innerType?: z.core.$ZodType; shape?: Record<string, unknown> };

const defOf = (schema: z.core.$ZodType | undefined) => schema?._zod.def as SchemaDef | undefined;
const checksOf = (def: SchemaDef) => (def.checks ?? []).map((c) => c._zod.def);

/** "from 1 to 3600", ">= 0", "" from a schema's bounds. */
function range(min: number | undefined, max: number | undefined, unit = ""): string {
  if (min !== undefined && max !== undefined) return unit === "" ? ` from ${min} to ${max}` : ` of ${min}..${max}${unit}`;
  if (min !== undefined) return unit === "" ? ` >= ${min}` : ` of at least ${min}${unit}`;
  if (max !== undefined) return unit === "" ? ` <= ${max}` : ` of at most ${max}${unit}`;
  return "";
}

/** The schema's rule as a noun phrase ("an integer from 1 to 100"); undefined when it has none to say. */
function describeSchema(schema: z.core.$ZodType | undefined): string | undefined {
  const def = defOf(schema);
  if (def === undefined) return undefined;
  const checks = checksOf(def);
  const min = (name: string) => checks.find((c) => c.check === name)?.[name === "greater_than" ? "value" : "minimum"] as number | undefined;
  const max = (name: string) => checks.find((c) => c.check === name)?.[name === "less_than" ? "value" : "maximum"] as number | undefined;
  switch (def.type) {
    case "number": {
      const integer = checks.some((c) => c.check === "number_format" && /int/.test(c.format ?? ""));
      return `${integer ? "an integer" : "a number"}${range(min("greater_than"), max("less_than"))}`;
    }
    case "string": {
      const pattern = checks.find((c) => c.check === "string_format" && c.pattern !== undefined)?.pattern;
      return `a string${range(min("min_length"), max("max_length"), " characters")}${pattern === undefined ? "" : ` matching ${pattern}`}`;
    }
    case "array":
      return `a list${range(min("min_length"), max("max_length"), " items")}`;
    case "enum":
      return `one of ${Object.values(def.entries ?? {}).join(", ")}`;
    case "literal":
      return (def.values ?? []).map(String).join(" or ");
    case "boolean":
      return "true or false";
    case "object":
      return "a JSON object";
    case "optional":
    case "nullable":
    case "default":
      return describeSchema(def.innerType);
    default:
      return undefined;
  }
}

/** The known key closest to a typo (at most 2 edits away), for "did you mean …?". */
function closest(key: string, known: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const best = known.map((k) => ({ k, d: distance(key, k) })).sort((x, y) => x.d - y.d)[0];
  return best !== undefined && best.d <= 2 ? best.k : undefined;
}

export function reasonOf(issue: RawIssue): string | undefined {
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys(defOf(issue.inst as z.core.$ZodType | undefined)?.shape ?? {});
    const guess = issue.keys.length === 1 ? closest(issue.keys[0]!, known) : undefined;
    return guess !== undefined ? `is not a known key; did you mean ${guess}?` : `is not a known key (the keys here: ${known.join(", ")})`;
  }
  if (issue.code === "custom" || issue.code === "invalid_union") return undefined;
  const rule = describeSchema(issue.schema);
  if (rule === undefined) return undefined;
  return issue.input === undefined ? `is required: ${rule}` : `must be ${rule}`;
}
