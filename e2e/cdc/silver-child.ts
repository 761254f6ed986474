/**
 * A CDC silver job in its own process, for kill -9 tests: runs silver on a local lake until a run
 * finds nothing new, with a small row budget so there are many runs to interrupt; prints a line as each
 * run starts and one as it ends, so a test can tell a kill that interrupted a run from one that came late.
 * The table is resolved as the scheduled job resolves a `CDC_TABLES` entry (jobs/cdc.ts).
 * Usage: bun e2e/cdc/silver-child.ts <lake dir> <scratch dir> <schema.table> <max rows>
 */
import { configuredCdcTables } from "@tributary/lake/jobs/cdc";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { LocalLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";

const [root, scratchDir, name, maxRows] = process.argv.slice(2);
if (!root || !scratchDir || !name || !maxRows) {
  console.error("usage: bun e2e/cdc/silver-child.ts <lake dir> <scratch dir> <schema.table> <max rows>");
  process.exit(2);
}
const config = loadConfig();
const [table] = configuredCdcTables({ ...config, cdc: { ...config.cdc, tables: [name] } });
if (!table) throw new Error(`no table ${name}`);
const store = new LocalLakeStore(root);
const env = { store, commitLog: new CommitLog(store), log: createLogger("silver-child", "warn"), scratchDir };
for (;;) {
  console.log(JSON.stringify({ phase: "start" }));
  const res = await runCdcSilver(env, table, { maxRows: Number(maxRows) });
  console.log(JSON.stringify({ phase: "done", events: res.events, files: res.filesWritten, rows: res.rows }));
  if (res.events === 0 && res.filesWritten === 0) break;
}
