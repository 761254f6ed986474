/**
 * `bun run lake migrate [--dry-run]`: the command line of the layout migration (migrate.ts). Progress
 * goes to stderr at most once a second, the plan of a dry run and the summary line to stdout.
 */
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { loadConfigOrExit } from "@tributary/shared/config";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { LAKE_LAYOUT_VERSION } from "@tributary/shared/lake/layout";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { type MigrationProgress, migrateLake, migrationSummary } from "./migrate.ts";

export const MIGRATE_SYNOPSIS = "bun run lake migrate [--dry-run]";

const USAGE = `usage: ${MIGRATE_SYNOPSIS}
Brings the lake at LAKE_URI to path layout v${LAKE_LAYOUT_VERSION} (docs/contracts.md "Lake"): moves files from
symbol=/zero-padded partitions to pair=/unpadded ones and rewrites the commit log and the Iceberg
tables that name them. Stop the lake's jobs first. Safe to run again: an interrupted run finishes the
job, a completed one does nothing.
  --dry-run   list what would move and change nothing`;

const PROGRESS_EVERY_MS = 1000;

export async function runMigrateCommand(argv: readonly string[]): Promise<void> {
  const { values } = commandLineOrExit("lake", USAGE, argv, (a) =>
    parseCommandLine(a, { "dry-run": { type: "boolean" } }),
  );
  const config = loadConfigOrExit();
  const log = createLogger("lake", config.logLevel);
  const store = createLakeStore(config);
  let lastPrint = Date.now();
  const onProgress = (p: MigrationProgress): void => {
    const now = Date.now();
    if (now - lastPrint < PROGRESS_EVERY_MS) return;
    lastPrint = now;
    process.stderr.write(`lake migrate: ${p.step} ${p.done}/${p.total}\n`);
  };
  const dryRun = values["dry-run"] ?? false;
  const result = await migrateLake(store, { dryRun, log, onProgress, catalog: openCatalog(config, store) });
  if (dryRun) {
    for (const m of result.moves)
      console.log(`${m.sourceOnly ? "delete copied" : "move"} ${m.from} -> ${m.to}`);
    for (const key of result.records) console.log(`rewrite ${key}`);
    for (const t of result.tables)
      console.log(`rename ${t.files} data file path(s) in Iceberg table ${t.id.namespace}.${t.id.name}`);
  }
  console.log(migrationSummary(result, store.root));
}
