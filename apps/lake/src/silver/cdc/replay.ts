/**
 * CDC silver for one table: bronze change events → the table's current state and its full history.
 * A keyed table is folded incrementally (keyed.ts: a run reads the bronze commits after its
 * watermark and rewrites the key groups they touch); a keyless table is a multiset rebuilt from all
 * of bronze (multiset.ts). Either way re-running gives the same rows, and every file is replaced
 * atomically (runtime/staging.ts).
 */
import { type DatasetRef, EMPTY_CURSOR } from "@tributary/shared/lake/commit-log";
import { formatMicros } from "@tributary/shared/time";
import { checkAborted, clock, type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { loadJobState, saveJobState } from "../../runtime/job-state.ts";
import { LakeReader } from "../../runtime/lake-reader.ts";
import { createStaging } from "../../runtime/staging.ts";
import { nextBronzeBatch } from "../bronze-feed.ts";
import type { FoldContext, FoldOutcome, LoadedBatch } from "./fold-context.ts";
import { batchFactsSql } from "./keyed.sql.ts";
import { runKeyedFold } from "./keyed.ts";
import { runMultisetFold } from "./multiset.ts";
import { createEventsSql } from "./replay.sql.ts";
import { type CdcSilverState, GROUP_KEYS, isCdcSilverState } from "./silver-state.ts";
import { type CdcTable, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

export interface CdcSilverResult {
  readonly table: string;
  readonly bronzeFiles: number;
  /** Change events folded in by this run (after deduplication and replays skipped). */
  readonly events: number;
  /** Bronze rows that are not change events (quarantined from silver, counted). */
  readonly invalid: number;
  /** Rows of the current state. */
  readonly rows: number;
  /** Files this run wrote (current, history, state). */
  readonly filesWritten: number;
  /** True when the run rebuilt silver from all of bronze (first run, snapshot, truncate, columns, keyless). */
  readonly rebuilt: boolean;
  /** Globs (lake keys) of the current state's and the history's files. */
  readonly currentGlob: string;
  readonly historyGlob: string;
}

export interface CdcSilverOptions {
  /** Row budget of one incremental run (default 2,000,000); the rest waits for the next run. */
  readonly maxRows?: number;
  /** Keys per group for keys new to silver (default GROUP_KEYS; tests use small groups). */
  readonly groupKeys?: number;
}

export const cdcSilverJob = (t: CdcTable): string => `silver.${cdcDatasetName(t)}`;

export async function runCdcSilver(
  env: LakeJobEnv,
  table: CdcTable,
  opts: CdcSilverOptions = {},
): Promise<CdcSilverResult> {
  const job = cdcSilverJob(table);
  const prior = await loadJobState(env.store, job, isCdcSilverState);
  const result = (o: Omit<FoldOutcome, "state">, state: CdcSilverState): CdcSilverResult => ({
    table: `${table.schema}.${table.table}`,
    ...o,
    rows: state.groups.reduce((n, g) => n + g.rows, 0),
    currentGlob: `silver/${cdcDatasetName(table)}/*.parquet`,
    historyGlob: `silver/${cdcHistoryDatasetName(table)}/*.parquet`,
  });
  const bronze: DatasetRef = { layer: "bronze", name: cdcDatasetName(table) };
  const first = await nextBronzeBatch(env.commitLog, bronze, prior?.cursor ?? EMPTY_CURSOR, {
    maxRows: opts.maxRows ?? 2_000_000,
  });
  if (prior && first.commits === 0) {
    const none = { events: 0, filesWritten: 0, rebuilt: false, bronzeFiles: 0, invalid: 0 };
    return result(none, prior);
  }
  using reader = new LakeReader(env.store, env.scratchDir);
  using staging = createStaging(env.store, job, env.scratchDir);
  using duck = await openJobDuck(env);
  const loadBatch = async (all?: "all"): Promise<LoadedBatch> => {
    const batch = all ? await nextBronzeBatch(env.commitLog, bronze) : first;
    const keys = [...batch.files];
    // Compacted commits: their directory holds the same rows; anything read twice is deduplicated.
    for (const dir of new Set(batch.filtered.map((f) => f.dirKey)))
      keys.push(...(await reader.parquetKeys(`${dir}/`)));
    const paths = await reader.paths([...new Set(keys)]);
    checkAborted(env, "reading bronze");
    let invalid = 0;
    if (paths.length > 0) {
      for (const sql of createEventsSql(paths, "cdc_batch")) await duck.run(sql);
      invalid = Number(await duck.scalar("SELECT n FROM cdc_invalid_rows"));
    } else {
      await duck.run(
        "CREATE OR REPLACE TEMP TABLE cdc_batch (k VARCHAR, op VARCHAR, lsn UBIGINT, after JSON, before JSON, kafka_partition INTEGER, kafka_offset BIGINT, commit_lsn UBIGINT, commit_ts TIMESTAMPTZ, ord BIGINT)",
      );
    }
    return { cursor: batch.cursor, files: paths.length, invalid };
  };
  const groupKeys = opts.groupKeys ?? GROUP_KEYS;
  const ctx: FoldContext = { env, table, duck, reader, staging, prior, loadBatch, groupKeys };
  // A first run reads all of bronze at once (it is a rebuild).
  const loaded = await loadBatch(prior ? undefined : "all");
  const facts = (await duck.rows(batchFactsSql(prior?.mode === "keyed" ? prior.cut : null)))[0] ?? {};
  const events = Number(facts.events ?? 0);
  const keyless = events > 0 ? Number(facts.keyed ?? 0) === 0 : prior?.mode === "multiset";
  const outcome = keyless ? await runMultisetFold(ctx) : await runKeyedFold(ctx, loaded, facts);
  const state: CdcSilverState = { ...outcome.state, updatedAt: formatMicros(clock(env)) };
  await saveJobState(env.store, job, state);
  if (outcome.invalid > 0)
    env.log.warn("bronze rows that are not change events were left out of silver", {
      table: table.table,
      invalid: outcome.invalid,
    });
  return result(outcome, state);
}
