// Types of doc-json.mjs for the TypeScript test that imports it (test/node/doc-json.node.test.ts).
export type Pattern = { kind: string };
export function parsePattern(text: string): [Pattern, string];
export function mismatches(pattern: Pattern, actual: unknown, path?: string, seen?: Map<string, string>): string[];
export function undeclaredKeys(schema: unknown, value: unknown, components: Record<string, unknown>, path?: string): string[];
