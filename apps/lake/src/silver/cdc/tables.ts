/**
 * CDC tables as the lake knows them. Bronze `cdc_<schema>_<table>` holds the raw Debezium envelopes;
 * silver `cdc_<schema>_<table>` is the current state (one row per primary key) and
 * `cdc_<schema>_<table>_history` every version with valid_from / valid_to. A table with a declared
 * schema gets its declared column types; any other table the types its envelopes' Kafka Connect
 * schemas give (column-types.ts), or text when they carry none.
 */

/** Each Tesouro gold dataset is one file, replaced whole by every run (CDC silver: silver-state.ts). */
export const SILVER_FILE = "part-0.parquet";

export interface CdcColumn {
  readonly name: string;
  /** DuckDB type of the silver column, cast exactly from the envelope's JSON text. */
  readonly type: string;
  /** How the JSON text encodes the value when a plain CAST does not read it (column-types.ts). */
  readonly encoding?: ValueEncoding;
}

/** Value encodings of Debezium's settings other than text (base64 bytes, epoch days/ms/µs, time of day). */
export type ValueEncoding =
  | "base64"
  | "epoch-days"
  | "epoch-millis"
  | "epoch-micros"
  | "day-millis"
  | "day-micros";

export interface CdcTable {
  readonly schema: string;
  readonly table: string;
  /** Typed columns in table order; undefined = discover the columns and their types from the envelopes. */
  readonly columns?: readonly CdcColumn[];
}

export const cdcDatasetName = (t: Pick<CdcTable, "schema" | "table">): string => `cdc_${t.schema}_${t.table}`;
export const cdcHistoryDatasetName = (t: Pick<CdcTable, "schema" | "table">): string =>
  `${cdcDatasetName(t)}_history`;

/** The Tesouro Direto price table (apps/ingest/src/tesouro/ddl.ts). */
export const TESOURO_COLUMNS: readonly CdcColumn[] = [
  { name: "bond_type", type: "VARCHAR" },
  { name: "maturity_date", type: "DATE" },
  { name: "base_date", type: "DATE" },
  { name: "buy_rate", type: "DECIMAL(9,2)" },
  { name: "sell_rate", type: "DECIMAL(9,2)" },
  { name: "buy_price", type: "DECIMAL(18,2)" },
  { name: "sell_price", type: "DECIMAL(18,2)" },
  { name: "base_price", type: "DECIMAL(18,2)" },
];

export function tesouroTable(schema = "public", table = "tesouro_prices"): CdcTable {
  return { schema, table, columns: TESOURO_COLUMNS };
}
