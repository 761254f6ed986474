/**
 * Lossless JSON: every number keeps its exact token text (`0.00044780`, `1762795433.9717445`,
 * `18125794168470749634`), so prices, quantities, REST times and u64 ids never pass through a
 * binary float. Uses the JSON.parse source-text access (`context.source`) that Bun implements.
 */

/** A JSON number as it appeared on the wire. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type LosslessValue =
  | string
  | boolean
  | null
  | JsonNumber
  | readonly LosslessValue[]
  | { readonly [key: string]: LosslessValue };

export type LosslessObject = { readonly [key: string]: LosslessValue };

interface ReviverContext {
  readonly source?: string;
}

function keepNumberText(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value !== "number") return value;
  if (context?.source === undefined) throw new Error("JSON.parse source text access is unavailable");
  return new JsonNumber(context.source);
}

/** An object names one key twice: JSON.parse would keep the last value, another reader the first. */
export class DuplicateKeyError extends SyntaxError {
  override readonly name = "DuplicateKeyError";
}

/**
 * Parses JSON text keeping number tokens; throws SyntaxError on malformed input like JSON.parse, and
 * DuplicateKeyError when an object repeats a key (readers disagree on which value wins).
 */
export function parseLossless(text: string): LosslessValue {
  // The reviver signature with a third `context` argument is newer than lib.es typings.
  const value = JSON.parse(text, keepNumberText as (key: string, value: unknown) => unknown) as LosslessValue;
  const repeated = duplicateKey(text);
  if (repeated !== undefined) throw new DuplicateKeyError(`duplicate key ${JSON.stringify(repeated)}`);
  return value;
}

/** The first key an object of valid JSON `text` repeats, else undefined. */
export function duplicateKey(text: string): string | undefined {
  const objects: (Set<string> | undefined)[] = []; // undefined: an array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const end = endOfString(text, i);
      const keys = objects[objects.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(i + 1, end - 1);
        const key = raw.includes("\\") ? (JSON.parse(text.slice(i, end)) as string) : raw;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end - 1;
    } else if (c === 123 /* { */) {
      objects.push(new Set());
      expectKey = true;
    } else if (c === 91 /* [ */) {
      objects.push(undefined);
      expectKey = false;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      objects.pop();
      expectKey = false;
    } else if (c === 44 /* , */) {
      expectKey = objects[objects.length - 1] !== undefined;
    }
  }
  return undefined;
}

export function isObject(v: LosslessValue | undefined): v is LosslessObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

export function isArray(v: LosslessValue | undefined): v is readonly LosslessValue[] {
  return Array.isArray(v);
}

/**
 * Splits the top-level members of a JSON object text into raw value texts, byte for byte, so a
 * server can re-serve a subset of a recorded body (e.g. AssetPairs for one pair) without re-encoding.
 */
export function rawObjectMembers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = skipWs(text, 0);
  if (text[i] !== "{") throw new SyntaxError("expected a JSON object");
  i = skipWs(text, i + 1);
  if (text[i] === "}") return out;
  for (;;) {
    if (text[i] !== '"') throw new SyntaxError(`expected a key at offset ${i}`);
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ":") throw new SyntaxError(`expected ':' at offset ${i}`);
    const start = skipWs(text, i + 1);
    const end = endOfValue(text, start);
    out.set(key, text.slice(start, end));
    i = skipWs(text, end);
    if (text[i] === ",") {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === "}") return out;
    throw new SyntaxError(`expected ',' or '}' at offset ${i}`);
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length && " \t\r\n".includes(text[i] as string)) i++;
  return i;
}

function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') return i + 1;
  }
  throw new SyntaxError("unterminated string");
}

function endOfValue(text: string, start: number): number {
  const c = text[start];
  if (c === '"') return endOfString(text, start);
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (ch === '"') i = endOfString(text, i) - 1;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new SyntaxError("unterminated container");
  }
  let i = start;
  while (i < text.length && !",}] \t\r\n".includes(text[i] as string)) i++;
  if (i === start) throw new SyntaxError(`expected a value at offset ${start}`);
  return i;
}
