/** The notebook kit: everything a notebook imports, from one place. */
import type { Table } from "apache-arrow";
import { bundleOf, type Displayable } from "./display.ts";
import { isArrowTable, type TableOptions, tableBundleFromArrow, tableBundleFromRows } from "./table.ts";

export { type Config, loadConfig } from "@tributary/shared/config";
export * from "../charts/index.ts";
export { bookAt, type RebuiltBook } from "./book.ts";
export {
  bundleOf,
  type Displayable,
  display,
  displayBundle,
  html,
  JUPYTER_DISPLAY,
  type MimeBundle,
  md,
} from "./display.ts";
export {
  type DatasetRef,
  type Lake,
  type LakeConfig,
  LakeError,
  openLake,
  sqlList,
  sqlString,
} from "./lake.ts";
export { defineParams, ParamError, type Params } from "./params.ts";
export type { TableOptions } from "./table.ts";
export { epochMs, type LakeRow, type LakeValue, type NumberLike, num, type TimeLike } from "./values.ts";

/** An HTML + text table of rows or an Arrow table, truncated to `maxRows` (head and tail). */
export function table(
  data: Table | readonly Readonly<Record<string, unknown>>[],
  options: TableOptions = {},
): Displayable {
  return bundleOf(
    isArrowTable(data) ? tableBundleFromArrow(data, options) : tableBundleFromRows(data, options),
  );
}
