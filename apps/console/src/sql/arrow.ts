/**
 * Query results as Arrow IPC (stream format), with exact types (see shared/src/lake/arrow.ts).
 */
import { arrowTableFromColumns } from "@tributary/shared/lake/arrow";
import { type Table, tableToIPC } from "apache-arrow";
import type { QueryResult } from "./engine.ts";

export const ARROW_STREAM = "application/vnd.apache.arrow.stream";

export function resultToArrowIpc(result: QueryResult): Uint8Array {
  return tableToIPC(resultToArrow(result), "stream");
}

export function resultToArrow(result: QueryResult): Table {
  const columns = result.columns.map((_, i) => result.values.map((row) => row[i] ?? null));
  return arrowTableFromColumns(
    result.columns.map((c) => c.name),
    result.types,
    columns,
  );
}
