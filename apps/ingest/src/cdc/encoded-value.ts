/**
 * A column value as the envelope carries it (a JSON value or a raw JSON number token) and the error of
 * a value that cannot be converted: the vocabulary column-values.ts and debezium-values.ts share.
 */
export class ColumnValueError extends Error {
  override readonly name = "ColumnValueError";
}

/** A value as written into the envelope: a JSON value, or a raw JSON number token (`JSON.rawJSON`). */
export type EncodedValue =
  | string
  | number
  | boolean
  | null
  | RawJsonNumber
  | readonly EncodedValue[]
  | { readonly [field: string]: EncodedValue };
declare const RAW: unique symbol;
export interface RawJsonNumber {
  readonly [RAW]: true;
}

const jsonWithRaw = JSON as unknown as { rawJSON?: (text: string) => RawJsonNumber };
if (typeof jsonWithRaw.rawJSON !== "function") {
  throw new ColumnValueError(
    "JSON.rawJSON is missing: the CDC source needs Bun ≥ 1.1 to write int8 and LSNs exactly",
  );
}
const rawJSON = jsonWithRaw.rawJSON;

/** A JSON number token written verbatim by JSON.stringify (validated: digits only). */
export function rawNumber(token: string): RawJsonNumber {
  if (!/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(token))
    throw new ColumnValueError(`not a JSON number: ${JSON.stringify(token)}`);
  return rawJSON(token);
}

export type ValueConverter = (text: string) => EncodedValue;
