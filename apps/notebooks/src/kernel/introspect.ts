/**
 * `complete` and `inspect` from what the running executor knows: the names on `globalThis` (the
 * notebook's variables, imports and Bun's globals) and the properties of live objects. Only plain
 * identifier chains (`lake.que`, `Math.ma`) are evaluated, never calls, so asking has no effect
 * beyond running getters.
 */

const KEYWORDS = [
  "await",
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "debugger",
  "default",
  "delete",
  "do",
  "else",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "import",
  "in",
  "instanceof",
  "let",
  "new",
  "null",
  "return",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "undefined",
  "using",
  "var",
  "void",
  "while",
  "yield",
];
const CHAIN = /((?:[A-Za-z_$][\w$]*\??\.)*)([A-Za-z_$][\w$]*)?$/;

export interface Completion {
  readonly matches: string[];
  /** UTF-16 offsets of the replaced text. */
  readonly start: number;
  readonly end: number;
}

export function complete(code: string, cursor: number): Completion {
  const before = code.slice(0, cursor);
  const m = CHAIN.exec(before);
  const chain = (m?.[1] ?? "").replace(/\??\.$/, "");
  const prefix = m?.[2] ?? "";
  const start = cursor - prefix.length;
  let names: Iterable<string>;
  if (chain === "") {
    names = [...globalNames(), ...KEYWORDS];
  } else {
    const target = evaluateChain(chain);
    names =
      target.found && target.value !== null && target.value !== undefined ? propertyNames(target.value) : [];
  }
  const matches = [...new Set(names)]
    .filter((n) => n.startsWith(prefix) && /^[A-Za-z_$][\w$]*$/.test(n))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return { matches, start, end: cursor };
}

export interface Inspection {
  readonly found: boolean;
  readonly text: string;
}

export function inspect(code: string, cursor: number, detail: number): Inspection {
  const before = code.slice(0, cursor);
  const after = /^[\w$]*/.exec(code.slice(cursor))?.[0] ?? "";
  const m = /((?:[A-Za-z_$][\w$]*\??\.)*[A-Za-z_$][\w$]*)$/.exec(before + after);
  const chain = m?.[1];
  if (!chain) return { found: false, text: "" };
  const target = evaluateChain(chain);
  if (!target.found) return { found: false, text: "" };
  const value = target.value;
  const kind = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  let text = `${chain}: ${kind}`;
  if (typeof value === "function") {
    const source = Function.prototype.toString.call(value);
    text += `\n${detail > 0 ? source : (source.split("\n")[0] ?? "")}`;
  } else {
    text += `\n${Bun.inspect(value, { colors: false, depth: detail > 0 ? 4 : 1 })}`;
  }
  return { found: true, text };
}

function globalNames(): string[] {
  const names: string[] = [];
  for (let o: object | null = globalThis; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    names.push(...Object.getOwnPropertyNames(o));
  }
  return names.filter((n) => !n.startsWith("__"));
}

function propertyNames(value: unknown): string[] {
  const names: string[] = [];
  let o: unknown = typeof value === "object" || typeof value === "function" ? value : Object(value);
  for (let depth = 0; o && depth < 10; depth++) {
    names.push(...Object.getOwnPropertyNames(o).filter((n) => n !== "constructor"));
    o = Object.getPrototypeOf(o);
    if (o === Object.prototype || o === Function.prototype) break;
  }
  return names;
}

function evaluateChain(chain: string): { found: boolean; value: unknown } {
  const parts = chain.split(/\??\./);
  const first = parts.shift() as string;
  if (!(first in globalThis)) return { found: false, value: undefined };
  let value: unknown = (globalThis as Record<string, unknown>)[first];
  for (const p of parts) {
    if (value === null || value === undefined) return { found: false, value: undefined };
    try {
      value = (value as Record<string, unknown>)[p];
    } catch {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value };
}

/** Public names first, then `_private` ones. */
function rank(name: string): number {
  return name.startsWith("_") ? 1 : 0;
}
