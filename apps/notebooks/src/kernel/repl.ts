/**
 * Turns one TypeScript cell into a script that keeps the notebook's state on `globalThis`, so later
 * cells see earlier declarations, imports work as `await import()`, top-level await works, and the
 * last expression is the cell's value. Every step keeps each statement on its source line (sucrase
 * strips types in place, the rewrite only edits inside lines), so a traceback's line is the cell's.
 * Bun's own `replMode` transpiler reprints the code and so loses those lines; hence this module.
 */
import * as acorn from "acorn";
import { transform } from "sucrase";

/** Global the transformed cells call: `bind` imports, `keep` top-level `using` values, `declare` names. */
export const HELPERS_KEY = "__tributaryKernel";
const H = `globalThis.${HELPERS_KEY}`;

export interface TransformedCell {
  /** A script whose evaluation returns a promise of `{ value }` or `undefined`. */
  readonly script: string;
  /** Top-level names the cell declares (variables, functions, classes, imports). */
  readonly declared: readonly string[];
}

export class CellSyntaxError extends SyntaxError {
  override readonly name = "SyntaxError";
  constructor(
    message: string,
    /** 1-based line in the cell. */
    readonly line: number,
    readonly column: number,
    /** True when the error is at the very end: more input could complete the code. */
    readonly atEnd: boolean,
  ) {
    super(message);
  }
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

type Node = acorn.AnyNode;

export function transformCell(code: string): TransformedCell {
  const js = stripTypes(code);
  let program: acorn.Program;
  try {
    program = acorn.parse(js, {
      ecmaVersion: "latest",
      sourceType: "module",
      allowAwaitOutsideFunction: true,
      locations: true,
    });
  } catch (err) {
    throw syntaxError(err, js);
  }
  const edits: Edit[] = [];
  const declared: string[] = [];
  const functions: string[] = [];
  const body = program.body;
  body.forEach((statement, index) => {
    const last = index === body.length - 1;
    rewriteStatement(js, statement, last, edits, declared, functions);
  });
  const unique = [...new Set(declared)];
  const prologue = `(async () => { "use strict"; ${unique.length ? `${H}.declare(${JSON.stringify(unique)}); ` : ""}${functions
    .map((f) => `globalThis.${f} = ${f}; `)
    .join("")}`;
  return { script: `${prologue}${applyEdits(js, edits)}\n})()`, declared: unique };
}

/** `complete`, `incomplete` or `invalid`, as Jupyter's is_complete_request asks. */
export function completeness(code: string): "complete" | "incomplete" | "invalid" {
  try {
    transformCell(code);
    return "complete";
  } catch (err) {
    return err instanceof CellSyntaxError && err.atEnd ? "incomplete" : "invalid";
  }
}

function stripTypes(code: string): string {
  try {
    return transform(code, {
      transforms: ["typescript"],
      disableESTransforms: true,
      // A cell's imports are used by later cells: never drop them as unused.
      keepUnusedImports: true,
      preserveDynamicImport: true,
    }).code;
  } catch (err) {
    throw syntaxError(err, code);
  }
}

function syntaxError(err: unknown, source: string): CellSyntaxError {
  const e = err as { message?: string; pos?: number; loc?: { line: number; column: number } };
  const pos = typeof e.pos === "number" ? e.pos : -1;
  const message = (e.message ?? String(err)).replace(/\s*\(\d+:\d+\)$/, "");
  return new CellSyntaxError(message, e.loc?.line ?? 1, e.loc?.column ?? 0, pos >= source.trimEnd().length);
}

function rewriteStatement(
  js: string,
  statement: acorn.Statement | acorn.ModuleDeclaration,
  last: boolean,
  edits: Edit[],
  declared: string[],
  functions: string[],
): void {
  switch (statement.type) {
    case "ImportDeclaration": {
      const bindings = statement.specifiers.map((s) => {
        if (s.type === "ImportNamespaceSpecifier") return ["*", s.local.name];
        if (s.type === "ImportDefaultSpecifier") return ["default", s.local.name];
        const imported = s.imported.type === "Identifier" ? s.imported.name : String(s.imported.value);
        return [imported, s.local.name];
      });
      for (const [, local] of bindings) declared.push(local as string);
      const attributes = statement.attributes.length
        ? `, { with: { ${statement.attributes.map((a) => `${js.slice(a.key.start, a.key.end)}: ${js.slice(a.value.start, a.value.end)}`).join(", ")} } }`
        : "";
      const load = `await import(${js.slice(statement.source.start, statement.source.end)}${attributes})`;
      const text = bindings.length ? `${H}.bind(${load}, ${JSON.stringify(bindings)});` : `${load};`;
      edits.push({ start: statement.start, end: statement.end, text: keepLines(js, statement, text) });
      return;
    }
    case "VariableDeclaration":
      rewriteDeclaration(js, statement, edits, declared);
      return;
    case "FunctionDeclaration":
      if (statement.id) functions.push(statement.id.name);
      return;
    case "ClassDeclaration":
      if (statement.id) {
        declared.push(statement.id.name);
        edits.push({
          start: statement.end,
          end: statement.end,
          text: `;globalThis.${statement.id.name} = ${statement.id.name};`,
        });
      }
      return;
    case "ExportNamedDeclaration":
      if (statement.declaration) {
        // `export` means nothing in a cell: drop the keyword, keep the declaration.
        edits.push({ start: statement.start, end: statement.declaration.start, text: "" });
        rewriteStatement(js, statement.declaration, last, edits, declared, functions);
      } else {
        edits.push({ start: statement.start, end: statement.end, text: keepLines(js, statement, "") });
      }
      return;
    case "ExportDefaultDeclaration":
    case "ExportAllDeclaration":
      edits.push({ start: statement.start, end: statement.end, text: keepLines(js, statement, "") });
      return;
    case "ExpressionStatement":
      if (last && !("directive" in statement && statement.directive)) {
        edits.push({
          start: statement.expression.start,
          end: statement.expression.start,
          text: "return { value: (",
        });
        edits.push({ start: statement.expression.end, end: statement.expression.end, text: ") };" });
      }
      return;
    default:
      return;
  }
}

/** `const {a, b} = x, c = 1` → `;({a, b} = x, c = 1)`; `let d` → `d = undefined`; `using` values are kept. */
function rewriteDeclaration(
  js: string,
  node: acorn.VariableDeclaration,
  edits: Edit[],
  declared: string[],
): void {
  const first = node.declarations[0];
  const lastDecl = node.declarations[node.declarations.length - 1];
  if (!first || !lastDecl) return;
  const using = node.kind === "using" || node.kind === "await using";
  edits.push({
    start: node.start,
    end: first.start,
    text: keepLines(js, { start: node.start, end: first.start }, ";("),
  });
  for (const d of node.declarations) {
    collectNames(d.id, declared);
    if (!d.init) {
      edits.push({ start: d.id.end, end: d.id.end, text: " = undefined" });
    } else if (using) {
      edits.push({ start: d.init.start, end: d.init.start, text: `${H}.keep(` });
      edits.push({ start: d.init.end, end: d.init.end, text: ")" });
    }
  }
  edits.push({ start: lastDecl.end, end: lastDecl.end, text: ")" });
}

function collectNames(pattern: acorn.Pattern | Node, out: string[]): void {
  switch (pattern.type) {
    case "Identifier":
      out.push(pattern.name);
      return;
    case "ObjectPattern":
      for (const p of pattern.properties) collectNames(p.type === "RestElement" ? p.argument : p.value, out);
      return;
    case "ArrayPattern":
      for (const e of pattern.elements) if (e) collectNames(e, out);
      return;
    case "RestElement":
      collectNames(pattern.argument, out);
      return;
    case "AssignmentPattern":
      collectNames(pattern.left, out);
      return;
    default:
      return;
  }
}

/** Replacement text padded with the newlines of the range it replaces. */
function keepLines(js: string, range: { start: number; end: number }, text: string): string {
  const newlines = js.slice(range.start, range.end).split("\n").length - 1;
  return text + "\n".repeat(newlines);
}

function applyEdits(js: string, edits: readonly Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = "";
  let at = 0;
  for (const e of sorted) {
    out += js.slice(at, e.start) + e.text;
    at = Math.max(at, e.end);
  }
  return out + js.slice(at);
}
