/**
 * Import specifiers of a notebook, made absolute so the code runs from wherever the runner or the
 * kernel put it: relative paths resolve against the notebook's folder, and `@tributary/notebooks/…`
 * resolves to this package, so a notebook anywhere on disk imports the kit as a package.
 * Only the specifier text changes: line and column structure stays for tracebacks.
 */
import { resolve } from "node:path";

const SPECIFIER =
  /(\b(?:from|import)\s*\(?\s*)(["'])((?:\.{1,2}\/|@tributary\/notebooks(?:\/|(?=["'])))[^"']*)\2/g;
const PACKAGE = "@tributary/notebooks";

export function resolveSpecifiers(code: string, baseDir: string): string {
  return code.replace(SPECIFIER, (_m, head: string, quote: string, spec: string) => {
    const target = spec.startsWith(PACKAGE) ? Bun.resolveSync(spec, import.meta.dir) : resolve(baseDir, spec);
    return `${head}${quote}${target}${quote}`;
  });
}
