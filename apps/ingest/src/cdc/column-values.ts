/**
 * PostgreSQL text output → the JSON value of a column, as Debezium's PostgreSQL connector writes it
 * under the configured settings (debezium-values.ts for the setting-dependent types). Every
 * conversion is exact: numbers that JSON can hold exactly (int8, float) are written as raw JSON
 * tokens, never through a JS double; dates never meet a time zone.
 * Requires the session settings in replication-connection.ts (ISO dates, UTC, iso_8601 intervals).
 */
import { type CdcEnvelopeSettings, DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import {
  dateConverter,
  intervalConverter,
  numericConverter,
  timeConverter,
  timestampConverter,
} from "./debezium-values.ts";
import { ColumnValueError, type EncodedValue, rawNumber, type ValueConverter } from "./encoded-value.ts";

export {
  ColumnValueError,
  type EncodedValue,
  type RawJsonNumber,
  rawNumber,
  type ValueConverter,
} from "./encoded-value.ts";

/** Built-in type OIDs (pg_type.dat), stable across PostgreSQL versions. */
export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Array type OID → element type OID for the built-in arrays. */
export const ARRAY_ELEMENT: ReadonlyMap<number, number> = new Map([
  [1000, OID.bool],
  [1001, OID.bytea],
  [1002, OID.char],
  [1003, OID.name],
  [1005, OID.int2],
  [1007, OID.int4],
  [1009, OID.text],
  [1014, OID.bpchar],
  [1015, OID.varchar],
  [1016, OID.int8],
  [1021, OID.float4],
  [1022, OID.float8],
  [1028, OID.oid],
  [1182, OID.date],
  [1183, OID.time],
  [1115, OID.timestamp],
  [1185, OID.timestamptz],
  [1187, OID.interval],
  [1231, OID.numeric],
  [2951, OID.uuid],
  [199, OID.json],
  [3807, OID.jsonb],
]);

const asText: ValueConverter = (t) => t;

const smallInt: ValueConverter = (t) => {
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new ColumnValueError(`not an integer: ${JSON.stringify(t)}`);
  return n;
};

const bigInt: ValueConverter = (t) => rawNumber(t);

const float: ValueConverter = (t) => (/^-?\d/.test(t) ? rawNumber(t) : t); // NaN, Infinity stay strings

const bool: ValueConverter = (t) => {
  if (t === "t") return true;
  if (t === "f") return false;
  throw new ColumnValueError(`not a boolean: ${JSON.stringify(t)}`);
};

const bytea: ValueConverter = (t) => {
  if (!t.startsWith("\\x"))
    throw new ColumnValueError(`bytea not in hex format: ${JSON.stringify(t.slice(0, 20))}`);
  return Buffer.from(t.slice(2), "hex").toString("base64");
};

const TIMESTAMPTZ = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/** Debezium's ZonedTimestamp: UTC with six fractional digits and `Z` (the session's offset is always +00). */
const timestamptz: ValueConverter = (t) => {
  const m = TIMESTAMPTZ.exec(t);
  if (m) return `${m[1]}T${m[2]}.${(m[3] ?? "").padEnd(6, "0")}Z`;
  if (t === "infinity" || t === "-infinity" || t.endsWith(" BC")) return t;
  throw new ColumnValueError(
    `timestamptz not in UTC ISO form (session TimeZone must be UTC): ${JSON.stringify(t)}`,
  );
};

const SCALAR: ReadonlyMap<number, ValueConverter> = new Map<number, ValueConverter>([
  [OID.bool, bool],
  [OID.bytea, bytea],
  [OID.int2, smallInt],
  [OID.int4, smallInt],
  [OID.oid, smallInt],
  [OID.int8, bigInt],
  [OID.float4, float],
  [OID.float8, float],
  [OID.timestamptz, timestamptz],
  [OID.json, asText],
  [OID.jsonb, asText],
]);

/** Converters whose output depends on Debezium's settings and on the column's type modifier. */
function settingDependent(
  typeOid: number,
  typeMod: number,
  s: CdcEnvelopeSettings,
): ValueConverter | undefined {
  switch (typeOid) {
    case OID.numeric:
      return numericConverter(s, typeMod);
    case OID.date:
      return dateConverter(s);
    case OID.time:
      return timeConverter(s, typeMod);
    case OID.timestamp:
      return timestampConverter(s, typeMod);
    case OID.interval:
      return intervalConverter(s);
    default:
      return undefined;
  }
}

/**
 * The converter for a column type (`typeMod` as in pg_attribute.atttypmod, -1 for none); unknown
 * types (enums, domains, ranges…) keep PostgreSQL's text.
 */
export function converterFor(
  typeOid: number,
  typeMod = -1,
  settings: CdcEnvelopeSettings = DEFAULT_ENVELOPE,
): ValueConverter {
  const scalar = SCALAR.get(typeOid) ?? settingDependent(typeOid, typeMod, settings);
  if (scalar) return scalar;
  const element = ARRAY_ELEMENT.get(typeOid);
  if (element !== undefined) {
    const convert = SCALAR.get(element) ?? settingDependent(element, typeMod, settings) ?? asText;
    return (t) => mapArray(parseArrayLiteral(t), convert);
  }
  return asText;
}

type ArrayNode = string | null | ArrayNode[];

function mapArray(node: ArrayNode[], convert: ValueConverter): EncodedValue[] {
  return node.map((n) => (n === null ? null : Array.isArray(n) ? mapArray(n, convert) : convert(n)));
}

/** Parses PostgreSQL's array output (`{1,2}`, `{{"a b",NULL}}`, `[0:1]={…}`) into nested element texts. */
export function parseArrayLiteral(text: string): ArrayNode[] {
  let i = 0;
  if (text.startsWith("[")) {
    const eq = text.indexOf("=");
    if (eq < 0) throw new ColumnValueError(`bad array bounds in ${JSON.stringify(text.slice(0, 40))}`);
    i = eq + 1;
  }
  const fail = (why: string): never => {
    throw new ColumnValueError(`bad array literal at ${i} (${why}): ${JSON.stringify(text.slice(0, 80))}`);
  };
  const parseLevel = (): ArrayNode[] => {
    if (text[i] !== "{") fail("expected {");
    i++;
    const out: ArrayNode[] = [];
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      const c = text[i];
      if (c === "{") out.push(parseLevel());
      else if (c === '"') {
        i++;
        let s = "";
        for (;;) {
          const ch = text[i];
          if (ch === undefined) fail("unterminated quote");
          if (ch === "\\") {
            s += text[i + 1] ?? "";
            i += 2;
          } else if (ch === '"') {
            i++;
            break;
          } else {
            s += ch;
            i++;
          }
        }
        out.push(s);
      } else {
        let j = i;
        while (j < text.length && text[j] !== "," && text[j] !== "}") j++;
        const raw = text.slice(i, j).trim();
        if (raw.length === 0) fail("empty element");
        out.push(raw === "NULL" ? null : raw);
        i = j;
      }
      const sep = text[i];
      i++;
      if (sep === "}") return out;
      if (sep !== ",") fail("expected , or }");
    }
  };
  const result = parseLevel();
  if (i !== text.length) fail("trailing text");
  return result;
}
