/**
 * The modules a built file refers to, from a full TypeScript parse: the one
 * reader the package tests (installed tarballs) and the browser import-graph
 * checks share.
 */
import ts from "typescript";

/**
 * Every module `text` refers to: import/export declarations, import() calls
 * and import types, require() calls (CommonJS build), `/// <reference
 * types>` and `import x = require()` (.d.ts files), from a full parse.
 */
export function moduleSpecifiers(text: string, fileName: string): string[] {
  const kind = fileName.endsWith(".d.ts") ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, kind);
  const out = file.typeReferenceDirectives.map((d) => d.fileName);
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require"))
        out.push(node.arguments[0].text);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push(node.argument.literal.text);
    } else if (ts.isExternalModuleReference(node) && ts.isStringLiteral(node.expression)) {
      out.push(node.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}
