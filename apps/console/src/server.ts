/**
 * Builds the console from the configuration and serves it with Bun. `startConsole` is what the CLI
 * and the tests call: it checks the bind address, opens the run history, the lake catalog and the
 * query engine, and returns the URL and a `stop` that releases every resource.
 */
import { rmSync } from "node:fs";
import type { Config } from "@tributary/shared/config";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger, type Logger } from "@tributary/shared/log";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import { createConsoleApp } from "./app.ts";
import { KafkaMonitor } from "./health/kafka.ts";
import { OverviewService } from "./health/overview.ts";
import { JobBoard } from "./jobs/board.ts";
import { LakeCatalog } from "./lake/catalog.ts";
import { TableHistories } from "./lake/history.ts";
import { MessageReader } from "./messages/reader.ts";
import { QueryCounters } from "./metrics.ts";
import { NotebookGallery } from "./notebooks/gallery.ts";
import { checkBind } from "./security/auth.ts";
import { QueryEngine } from "./sql/engine.ts";
import { claimSpillDir } from "./sql/spill.ts";

export interface RunningConsole {
  readonly url: string;
  readonly port: number;
  readonly app: ReturnType<typeof createConsoleApp>;
  stop(): Promise<void>;
}

export interface ConsoleOptions {
  /** Port to listen on; 0 picks a free one (tests). Defaults to CONSOLE_PORT. */
  readonly port?: number;
  readonly log?: Logger;
  /** How long a scheduler heartbeat may be silent before its process counts as dead. */
  readonly ownerStaleAfterMs?: number;
  /** Clock (epoch ms) the lake's freshness is judged by; tests move it forward. */
  readonly now?: () => number;
}

export async function startConsole(config: Config, options: ConsoleOptions = {}): Promise<RunningConsole> {
  checkBind(config.console.host, config.console.token);
  const log = options.log ?? createLogger("console", config.logLevel);
  const store = createLakeStore(config);
  let engine: QueryEngine | undefined;
  let engineUnavailable: string | undefined;
  if (store.kind === "local") {
    engine = await QueryEngine.create({
      lakeRoot: store.root,
      maxAnswerBytes: config.console.queryMaxBytes,
      spillDir: claimSpillDir(config.stateDir),
      spillLimitMb: config.console.querySpillMb,
    });
  } else {
    engineUnavailable =
      "The SQL box, schemas, samples and quality charts need a local lake: DuckDB's httpfs extension cannot be installed here, so an s3:// lake is listed from its commit log only.";
  }
  const catalog = new LakeCatalog({
    store,
    staleAfterS: config.console.staleAfterS,
    ...(options.now ? { now: options.now } : {}),
    ...(engine
      ? { footerRows: (paths: readonly string[]) => (engine as QueryEngine).parquetRows(paths) }
      : {}),
  });
  const history = RunHistory.open(historyPath(config.stateDir));
  const board = new JobBoard(history, { staleAfterMs: options.ownerStaleAfterMs ?? 15_000 });
  const kafka = new KafkaMonitor({
    kafka: config.kafka,
    group: config.lake.consumerGroup,
    cdcPrefix: config.cdc.topicPrefix,
  });
  const tables = new TableHistories(openCatalog(config, store), store);
  const overview = new OverviewService({ config, catalog, tables, engine, kafka, board });
  const gallery = new NotebookGallery(config.console.notebooksDir);
  const messages = new MessageReader(config.kafka);
  const app = createConsoleApp({
    config,
    catalog,
    tables,
    engine,
    ...(engineUnavailable ? { engineUnavailable } : {}),
    overview,
    board,
    history,
    gallery,
    messages,
    queries: new QueryCounters(),
    log,
  });
  const server = Bun.serve({
    hostname: config.console.host,
    port: options.port ?? config.console.port,
    fetch: app.fetch,
    maxRequestBodySize: 1024 * 1024,
    idleTimeout: 60,
  });
  const host = config.console.host.includes(":") ? `[${config.console.host}]` : config.console.host;
  const url = `http://${host}:${server.port}`;
  log.info("console listening", { url, lake: store.root, history: history.path });
  let stopped = false;
  return {
    url,
    port: server.port ?? 0,
    app,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop(true);
      await kafka.close();
      await messages.close();
      engine?.close();
      if (engine?.spillDir) rmSync(engine.spillDir, { recursive: true, force: true });
      history.close();
    },
  };
}
