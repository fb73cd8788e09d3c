/**
 * The JSON answers the docs show, as patterns an actual answer is matched against
 * (scripts/readme-check.mjs). The docs write JSON with `…` where a value does not matter:
 *   - `…` as a value matches any value; `"ab…yz"` any string that starts with `ab` and ends with `yz`;
 *   - `…` (with any words up to the next `,` or closing bracket) as an object member or array item
 *     makes that object or array open: the keys shown must be there, others may be too. An object
 *     without it is closed: exactly its keys, so an undocumented key fails the match.
 *   - values that differ on every machine match by shape: numbers from 10^12 (millisecond
 *     timestamps), 12 hex digits (ids), and strings starting `kte_` (tenant keys) or `eyJ` (JWTs).
 * Everything else must be equal.
 */

const ANY = { kind: "any" };
const GENERATED = [/^[0-9a-f]{12}$/, /^kte_[0-9a-f]{12}_/, /^eyJ/];

/** Parses the documented text (which may continue after the value) into [pattern, rest]. */
export function parsePattern(text) {
  let i = 0;
  const skip = () => {
    while (/\s/.test(text[i] ?? "")) i++;
  };
  const fail = (what) => {
    throw new Error(`documented JSON: expected ${what} at ${i}: ${text.slice(i, i + 40)}`);
  };
  const ellipsisMember = () => {
    // `…`, `…all false`, `…13 paths…`: up to the next , ] or } of this level.
    while (i < text.length && !",]}".includes(text[i])) i++;
  };
  const string = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (text[i] !== '"') fail("a closing quote");
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = () => {
    skip();
    const c = text[i];
    if (c === "…") {
      i++;
      return ANY;
    }
    if (c === '"') {
      const s = string();
      if (GENERATED.some((re) => re.test(s))) return { kind: "generated", like: GENERATED.find((re) => re.test(s)), documented: s };
      if (s.includes("…")) return { kind: "affix", prefix: s.slice(0, s.indexOf("…")), suffix: s.slice(s.lastIndexOf("…") + 1), documented: s };
      return { kind: "exact", value: s };
    }
    if (c === "{") {
      i++;
      const keys = {};
      let open = false;
      for (;;) {
        skip();
        if (text[i] === "}") break;
        if (text[i] === "…") {
          open = true;
          ellipsisMember();
        } else {
          if (text[i] !== '"') fail("a key");
          const key = string();
          skip();
          if (text[i] !== ":") fail(":");
          i++;
          keys[key] = value();
        }
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail(", or }");
      }
      i++;
      return { kind: "object", keys, open };
    }
    if (c === "[") {
      i++;
      const items = [];
      let open = false;
      for (;;) {
        skip();
        if (text[i] === "]") break;
        if (text[i] === "…") {
          open = true;
          ellipsisMember();
        } else items.push(value());
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== "]") fail(", or ]");
      }
      i++;
      return { kind: "array", items, open };
    }
    const literal = /^(-?\d+(\.\d+)?|true|false|null)/.exec(text.slice(i));
    if (literal === null) fail("a value");
    i += literal[0].length;
    const v = JSON.parse(literal[0]);
    return typeof v === "number" && v >= 1e12 ? { kind: "timestamp" } : { kind: "exact", value: v };
  };
  const pattern = value();
  return [pattern, text.slice(i)];
}

/**
 * The differences between a pattern and an actual value, as "path: what" lines (none: it
 * matches). `seen` collects documented generated values and what they were this time, so that a
 * later command that uses the documented key can be given the real one.
 */
export function mismatches(pattern, actual, path = "$", seen = new Map()) {
  const out = [];
  const typeOf = (v) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v);
  switch (pattern.kind) {
    case "any":
      break;
    case "timestamp":
      if (typeof actual !== "number") out.push(`${path}: a number (a timestamp) was documented, got ${JSON.stringify(actual)}`);
      break;
    case "generated":
      if (typeof actual !== "string" || !pattern.like.test(actual)) out.push(`${path}: a value like ${JSON.stringify(pattern.documented)} was documented, got ${JSON.stringify(actual)}`);
      else seen.set(pattern.documented.replace(/…$/, ""), actual);
      break;
    case "affix":
      if (typeof actual !== "string" || !actual.startsWith(pattern.prefix) || !actual.endsWith(pattern.suffix) || actual.length < pattern.prefix.length + pattern.suffix.length) {
        out.push(`${path}: ${JSON.stringify(pattern.documented)} was documented, got ${JSON.stringify(actual)}`);
      }
      break;
    case "exact":
      if (actual !== pattern.value) out.push(`${path}: ${JSON.stringify(pattern.value)} was documented, got ${JSON.stringify(actual)}`);
      break;
    case "object": {
      if (typeOf(actual) !== "object") {
        out.push(`${path}: an object was documented, got ${JSON.stringify(actual)}`);
        break;
      }
      for (const [key, sub] of Object.entries(pattern.keys)) {
        if (!(key in actual)) out.push(`${path}.${key}: documented, missing from the answer`);
        else out.push(...mismatches(sub, actual[key], `${path}.${key}`, seen));
      }
      if (!pattern.open) for (const key of Object.keys(actual)) if (!(key in pattern.keys)) out.push(`${path}.${key}: in the answer, not documented`);
      break;
    }
    case "array": {
      if (!Array.isArray(actual)) {
        out.push(`${path}: an array was documented, got ${JSON.stringify(actual)}`);
        break;
      }
      if (pattern.open ? actual.length < pattern.items.length : actual.length !== pattern.items.length) {
        out.push(`${path}: ${pattern.items.length}${pattern.open ? " or more" : ""} items documented, got ${actual.length}`);
      }
      pattern.items.forEach((sub, n) => out.push(...mismatches(sub, actual[n], `${path}[${n}]`, seen)));
      break;
    }
  }
  return out;
}

/**
 * The keys of `value` that the OpenAPI schema does not declare (recursively through properties,
 * items and $refs), as paths: a response with a key its schema lacks is undocumented.
 */
export function undeclaredKeys(schema, value, components, path = "$") {
  if (schema === undefined || value === null || typeof value !== "object") return [];
  if (schema.$ref !== undefined) return undeclaredKeys(components[schema.$ref.split("/").pop()], value, components, path);
  if (Array.isArray(value)) return value.flatMap((item, n) => undeclaredKeys(schema.items, item, components, `${path}[${n}]`));
  if (schema.properties === undefined) return [];
  return Object.entries(value).flatMap(([key, sub]) =>
    key in schema.properties ? undeclaredKeys(schema.properties[key], sub, components, `${path}.${key}`) : schema.additionalProperties ? [] : [`${path}.${key}`],
  );
}
