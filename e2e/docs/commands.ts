/**
 * The maintained list of every concrete command the documentation shows, and how each is exercised:
 * - `here`: commands.test.ts runs it (in a sandbox state directory and lake unless noted);
 * - `by`: a test file that spawns that command's entry point with those arguments, or spawns `via`
 *   (another command, such as `bun run demo`) which spawns it;
 * - `helpOnly`: no test runs it here (it changes the shared stack, runs for minutes or needs the
 *   network); commands.test.ts checks its script answers --help and that every flag it uses is in the
 *   usage. The reason says why.
 * A documented command missing from this list, or an entry no document shows, fails the test.
 */
export type Exercise =
  | { readonly here: true; readonly sharedStack?: boolean }
  | { readonly by: string; readonly via?: string }
  | { readonly helpOnly: string };

export const DOCUMENTED_COMMANDS: Readonly<Record<string, Exercise>> = {
  "bun run setup": { by: ".ci/run" },
  "bun run test": { by: ".ci/run" },
  "bun run test:soak": { helpOnly: "the whole suite at full size: minutes to hours" },
  "bun run demo": { by: "apps/demo/src/demo.test.ts" },
  "bun run demo --json": { by: "apps/demo/src/demo.test.ts" },
  "bun run start": { helpOnly: "supervises the same children bun run demo runs, until Ctrl-C" },
  "bun run console": { by: "apps/demo/src/demo.test.ts", via: "apps/demo/src/demo.ts" },
  "bun run simulator": { by: "apps/ingest/src/simulator/cli.test.ts" },
  "bun run ingest": { by: "apps/ingest/src/cli.test.ts" },
  "bun run ingest --rest-url http://127.0.0.1:8787/0 --ws-url ws://127.0.0.1:8787/v2": {
    by: "apps/ingest/src/cli.test.ts",
  },
  "bun run ingest --ohlc": { by: "apps/ingest/src/cli.test.ts" },
  "bun run cdc": { by: "apps/demo/src/demo.test.ts", via: "apps/demo/src/demo.ts" },
  "bun run cdc --load-sample": { by: "apps/demo/src/demo.test.ts", via: "apps/demo/src/demo.ts" },
  "bun run cdc --workload --dates 20 --delay-ms 500": { helpOnly: "a live feed that runs until stopped" },
  "bun run cdc --resnapshot": { helpOnly: "drops the shared PostgreSQL's replication slot" },
  "bun run cdc --drop": { helpOnly: "drops the shared PostgreSQL's slot and publication" },
  "bun run cdc --snapshot-table public.tesouro_prices": {
    by: "apps/ingest/src/cdc/incremental-snapshot.test.ts",
  },
  "bun run lake": { by: "apps/demo/src/demo.test.ts", via: "apps/demo/src/demo.ts" },
  "bun run lake --jobs bronze": {
    by: "apps/lake/src/bronze/crash.test.ts",
    via: "apps/lake/src/bronze/child.ts",
  },
  "bun run lake --jobs bronze,compaction": {
    helpOnly: "what bun run start runs; the writer alone runs in apps/lake/src/bronze/crash.test.ts",
  },
  "bun run lake migrate --dry-run": { here: true },
  "bun run lake migrate": { here: true },
  "bun run jobs": { here: true },
  "bun run jobs start": {
    helpOnly: "runs until Ctrl-C; the scheduler it starts is tested in shared/src/scheduler",
  },
  "bun run jobs history": { here: true },
  "bun run jobs backfill gold.market --from 2024-03-01 --to 2024-03-08": { here: true },
  "bun run notebooks": { by: "apps/notebooks/src/cli.test.ts" },
  "bun run notebooks market-overview tesouro": { by: "apps/notebooks/src/cli.test.ts" },
  "bun run notebooks --param minutes=60 --param symbols=BTC/USD": {
    helpOnly: "every notebook over the configured lake; --param is covered by the runner's own tests",
  },
  "bun run notebooks --lake /path/to/lake --out /tmp/nb --timeout 120 --json": {
    helpOnly: "a placeholder lake path; the same flags run in apps/notebooks/src/cli.test.ts",
  },
  "bun run notebooks --list": { here: true },
  "bun run notebooks /anywhere/my-analysis.ts": { by: "apps/notebooks/src/cli.test.ts" },
  "bun run notebooks market-overview --as-of apps/notebooks/out/market-overview.ipynb": {
    by: "apps/notebooks/src/kit/as-of.test.ts",
  },
  "bun run notebooks import edited.ipynb": { by: "apps/notebooks/src/format/import.test.ts" },
  "bun run notebooks kernel install": { by: "apps/notebooks/src/kernel/kernel.test.ts" },
  "bun run notebooks kernel install --prefix /usr/local": { by: "apps/notebooks/src/kernel/kernel.test.ts" },
  "bun run stack": { here: true, sharedStack: true },
  "bun run stack up": { by: "apps/stack/src/stack.test.ts" },
  "bun run stack status": { here: true, sharedStack: true },
  "bun run stack logs kafka -n 100": { here: true, sharedStack: true },
  "bun run stack up debezium": { helpOnly: "starts Kafka Connect in the shared stack" },
  "bun run stack up iceberg-rest": {
    helpOnly:
      "starts the REST catalog in the shared stack; apps/stack/src/services/iceberg-rest.test.ts starts the same service privately",
  },
  "bun run stack down": { helpOnly: "stops the shared stack" },
  "bun run stack register-debezium --url http://debezium:8083": {
    helpOnly: "needs docker-compose.yml's Kafka Connect worker",
  },
  "bun run bench": { helpOnly: "benchmarks run minutes and rewrite BENCHMARKS.md" },
  "bun run bench ingest": { helpOnly: "benchmarks run minutes and rewrite BENCHMARKS.md" },
  "bun run bench gold": { helpOnly: "benchmarks run minutes and rewrite BENCHMARKS.md" },
  "bun run bench cdc": { helpOnly: "benchmarks run minutes and rewrite BENCHMARKS.md" },
  "bun run bench lake": { helpOnly: "benchmarks run minutes and rewrite BENCHMARKS.md" },
  "bun run bench iceberg": { helpOnly: "benchmarks run minutes and rewrite BENCHMARKS.md" },
};
