/**
 * Notebook parameters: a notebook declares typed defaults at its top,
 * `const params = defineParams({ symbols: ["BTC/USD"], minutes: 180 })`, and
 * `bun run notebooks --param minutes=60` overrides them. Values are coerced to the default's type;
 * a value that does not fit stops the notebook with a message naming the parameter.
 */
import { currentRuntime } from "./display.ts";

export type ParamValue = string | number | boolean | readonly string[];
export type ParamDefaults = Readonly<Record<string, ParamValue>>;
type Widen<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : readonly string[];
export type Params<T extends ParamDefaults> = { readonly [K in keyof T]: Widen<T[K]> };

export class ParamError extends Error {
  override readonly name = "ParamError";
}

export function defineParams<const T extends ParamDefaults>(
  defaults: T,
  overrides: Readonly<Record<string, string>> = currentRuntime()?.params ?? {},
): Params<T> {
  const out: Record<string, ParamValue> = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    const raw = overrides[key];
    out[key] = raw === undefined ? fallback : coerce(key, raw, fallback);
  }
  currentRuntime()?.reportParams(out);
  return Object.freeze(out) as Params<T>;
}

function coerce(key: string, raw: string, fallback: ParamValue): ParamValue {
  if (typeof fallback === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n))
      throw new ParamError(`param ${key}=${raw}: expected a number`);
    return n;
  }
  if (typeof fallback === "boolean") {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new ParamError(`param ${key}=${raw}: expected true or false`);
  }
  if (Array.isArray(fallback)) {
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }
  return raw;
}

/** Parses `key=value` strings from the command line. */
export function parseParamArgs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ParamError(`--param ${pair}: expected key=value`);
    const key = pair.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new ParamError(`--param ${pair}: bad key ${key}`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}
