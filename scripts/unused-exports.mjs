#!/usr/bin/env node
// Lists the exports of the project's .ts files (tsconfig.json's) that no other file imports, read
// with TypeScript's own module resolution. The entry points wrangler, vitest and the package load
// are left out. What it lists is a place to look: a type that names an exported function's
// contract, or a host interface, may stay exported on purpose. `node scripts/unused-exports.mjs`
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const cfg = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
const program = ts.createProgram(cfg.fileNames, cfg.options);
const checker = program.getTypeChecker();
const files = program.getSourceFiles().filter((f) => f.fileName.startsWith(root) && !f.fileName.includes("node_modules"));
const used = new Map(); // file -> Set(name) | "*"
const mark = (file, name) => { if (!used.has(file)) used.set(file, new Set()); used.get(file).add(name); };
const resolve = (from, spec) => ts.resolveModuleName(spec, from.fileName, cfg.options, ts.sys).resolvedModule?.resolvedFileName;
for (const f of files) {
  ts.forEachChild(f, function visit(node) {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolve(f, node.moduleSpecifier.text);
      if (!target) return;
      if (ts.isImportDeclaration(node)) {
        const c = node.importClause;
        if (!c) return;
        if (c.name) mark(target, "default");
        const b = c.namedBindings;
        if (b && ts.isNamespaceImport(b)) mark(target, "*");
        if (b && ts.isNamedImports(b)) for (const e of b.elements) mark(target, (e.propertyName ?? e.name).text);
      } else {
        if (!node.exportClause) mark(target, "*");
        else if (ts.isNamedExports(node.exportClause)) for (const e of node.exportClause.elements) mark(target, (e.propertyName ?? e.name).text);
        else mark(target, "*");
      }
    }
    // import("x") types / dynamic
    if (ts.isImportTypeNode?.(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const target = resolve(f, node.argument.literal.text); if (target) mark(target, node.qualifier ? node.qualifier.getText(f).split(".")[0] : "*");
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      const target = resolve(f, node.arguments[0].text); if (target) mark(target, "*");
    }
    ts.forEachChild(node, visit);
  });
}
const entries = new Set(["worker/index.ts", "dev/index.ts", "test/worker.ts", "client/index.ts", "client/android-bridge.ts", "client/relay.ts", "vitest.config.ts"].map((p) => path.join(root, p)));
const out = [];
for (const f of files) {
  if (entries.has(f.fileName) || f.isDeclarationFile) continue;
  const sym = checker.getSymbolAtLocation(f);
  if (!sym) continue;
  const u = used.get(f.fileName);
  if (u?.has("*")) continue;
  for (const e of checker.getExportsOfModule(sym)) {
    // only own declarations (not re-exports)
    const decl = e.declarations?.[0];
    if (!decl || decl.getSourceFile() !== f) continue;
    if (u?.has(e.name)) continue;
    const { line } = f.getLineAndCharacterOfPosition(decl.getStart());
    out.push(`${path.relative(root, f.fileName)}:${line + 1} ${e.name}`);
  }
}
console.log(out.join("\n"));
console.log(`${out.length} exports used by no other file`);
