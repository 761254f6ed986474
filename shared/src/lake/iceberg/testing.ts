/** A small trades table and its data files, for the Iceberg library's and catalogs' tests. */
import type { LakeStore } from "../store.ts";
import type { DataFile } from "./manifest.ts";
import { timeTransform } from "./schema.ts";
import type { TableDefinition } from "./table.ts";

export const SAMPLE_TABLE: TableDefinition = {
  columns: [
    ["symbol", "VARCHAR"],
    ["price", "DECIMAL(38,10)"],
    ["ts", "TIMESTAMPTZ"],
  ],
  partitionBy: [
    ["ts", "hour"],
    ["symbol", "identity"],
  ],
};

export const SAMPLE_HOUR = timeTransform("hour", BigInt(Date.UTC(2024, 4, 1, 14)) * 1000n);

/** A data file `silver/t/<name>.parquet` of the sample table (not written: commits never read data files). */
export function sampleFile(store: LakeStore, name: string, rows = 10): DataFile {
  return {
    path: store.url(`silver/t/${name}.parquet`),
    partition: [SAMPLE_HOUR, "BTC/USD"],
    recordCount: rows,
    fileSizeBytes: 100,
  };
}
