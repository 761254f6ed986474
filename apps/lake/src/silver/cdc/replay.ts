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
import {
  type ColumnSources,
  chooseColumn,
  decimalColumns,
  mergeSources,
  SPECIAL_NUMBER,
  sourcesOf,
} from "./column-types.ts";
import type { FoldContext, FoldOutcome, LoadedBatch } from "./fold-context.ts";
import { batchFactsSql } from "./keyed.sql.ts";
import { runKeyedFold } from "./keyed.ts";
import { runMultisetFold } from "./multiset.ts";
import { createEventsSql, eventSchemasSql, specialNumbersSql } from "./replay.sql.ts";
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
  /** Key-change events held back until the delete of their old key is in bronze (key-moves.ts). */
  readonly pending: number;
  /** Columns silver keeps as VARCHAR although schemas type them, with the reason (type changed, NaN). */
  readonly textColumns: Readonly<Record<string, string>>;
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
  const result = (o: Omit<FoldOutcome, "state" | "pending">, state: CdcSilverState): CdcSilverResult => ({
    table: `${table.schema}.${table.table}`,
    ...o,
    rows: state.groups.reduce((n, g) => n + g.rows, 0),
    pending: state.pending?.events ?? 0,
    textColumns: textColumns(table, state),
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
  /** Envelope schemas (their `after` struct) by hash, read once per run (column-types.ts). */
  const schemas = new Map<string, unknown>();
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
      const unknown = await duck.scalar(
        `SELECT count(*) FROM (SELECT DISTINCT sh FROM cdc_batch WHERE sh IS NOT NULL) WHERE sh NOT IN (${[...schemas.keys(), "0"].join(", ")})`,
      );
      if (Number(unknown) > 0)
        for (const r of await duck.rows(eventSchemasSql(paths, "cdc_batch")))
          schemas.set(String(r.sh), JSON.parse(String(r.schema)));
    } else {
      await duck.run(
        "CREATE OR REPLACE TEMP TABLE cdc_batch (k VARCHAR, op VARCHAR, lsn UBIGINT, after JSON, before JSON, kafka_partition INTEGER, kafka_offset BIGINT, sh UBIGINT, commit_lsn UBIGINT, commit_ts TIMESTAMPTZ, p_read INTEGER, t_order BIGINT, ord BIGINT)",
      );
    }
    return { cursor: batch.cursor, files: paths.length, invalid };
  };
  const columnSources = async (events: string): Promise<ColumnSources> => {
    const [facts] = await duck.rows(
      `SELECT list(DISTINCT sh::VARCHAR) FILTER (WHERE sh IS NOT NULL) AS hashes, count(*) FILTER (WHERE sh IS NULL) AS bare FROM ${events} WHERE op IN ('r', 'c', 'u', 'd')`,
    );
    const hashes = ((facts?.hashes ?? []) as string[]).map((h) => schemas.get(h));
    const sources = sourcesOf(hashes, Number(facts?.bare ?? 0) > 0);
    const decimals = decimalColumns(sources);
    if (decimals.length === 0) return sources;
    const special = (await duck.rows(specialNumbersSql(events, decimals))).map((r) => String(r.name));
    return mergeSources(sources, {
      schemaless: false,
      columns: Object.fromEntries(special.map((n) => [n, [SPECIAL_NUMBER]])),
    });
  };
  const groupKeys = opts.groupKeys ?? GROUP_KEYS;
  const ctx: FoldContext = { env, table, duck, reader, staging, prior, loadBatch, groupKeys, columnSources };
  // A first run reads all of bronze at once (it is a rebuild).
  const loaded = await loadBatch(prior ? undefined : "all");
  const facts = (await duck.rows(batchFactsSql(prior?.mode === "keyed" ? prior.cut : null)))[0] ?? {};
  const events = Number(facts.events ?? 0);
  const keyless = events > 0 ? Number(facts.keyed ?? 0) === 0 : prior?.mode === "multiset";
  const outcome = keyless ? await runMultisetFold(ctx, loaded) : await runKeyedFold(ctx, loaded, facts);
  const state: CdcSilverState = { ...outcome.state, updatedAt: formatMicros(clock(env)) };
  await saveJobState(env.store, job, state);
  const text = textColumns(table, state);
  if (Object.keys(text).length > 0)
    env.log.warn("columns kept as text although the envelopes' schemas type them", {
      table: table.table,
      ...text,
    });
  if (outcome.invalid > 0)
    env.log.warn("bronze rows that are not change events were left out of silver", {
      table: table.table,
      invalid: outcome.invalid,
    });
  return result(outcome, state);
}

function textColumns(table: CdcTable, state: CdcSilverState): Record<string, string> {
  if (table.columns || !state.columnSources) return {};
  const sources = state.columnSources;
  return Object.fromEntries(
    state.allColumns.flatMap((n) => {
      const reason = chooseColumn(n, sources).textReason;
      return reason ? [[n, reason]] : [];
    }),
  );
}
