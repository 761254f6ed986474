/** What every route of the console is built from: the configuration and the services server.ts opens. */
import type { Config } from "@tributary/shared/config";
import type { Logger } from "@tributary/shared/log";
import type { RunHistory } from "@tributary/shared/scheduler/history";
import type { OverviewService } from "./health/overview.ts";
import type { JobBoard } from "./jobs/board.ts";
import type { LakeCatalog } from "./lake/catalog.ts";
import type { TableHistories } from "./lake/history.ts";
import type { MessageReader } from "./messages/reader.ts";
import type { QueryCounters } from "./metrics.ts";
import type { NotebookGallery } from "./notebooks/gallery.ts";
import type { QueryEngine, QueryLimits } from "./sql/engine.ts";

export interface ConsoleDeps {
  readonly config: Config;
  readonly catalog: LakeCatalog;
  /** The datasets' Iceberg tables: snapshot history and as-of reads. */
  readonly tables: TableHistories;
  /** Absent when the lake is on S3 (DuckDB's httpfs cannot be installed offline). */
  readonly engine: QueryEngine | undefined;
  readonly engineUnavailable?: string;
  readonly overview: OverviewService;
  readonly board: JobBoard;
  readonly history: RunHistory;
  readonly gallery: NotebookGallery;
  /** Reads a few messages of a topic partition for the message browser. */
  readonly messages: MessageReader;
  readonly queries: QueryCounters;
  readonly log: Logger;
}

/** The SQL box's limits from the configuration. */
export function queryLimits(config: Config): QueryLimits {
  return {
    rowLimit: config.console.queryRowLimit,
    timeoutMs: config.console.queryTimeoutMs,
    maxBytes: config.console.queryMaxBytes,
  };
}
