/**
 * Silver book: `silver/kraken_book_events`, every `kraken.book` message typed (levels as lists of
 * DECIMAL(38,10) `{price, qty}`, TIMESTAMPTZ µs), one row per (symbol, session, seq); invalid rows go
 * to `silver/kraken_book_events_quarantine` with a reason. And `silver/kraken_book_checkpoints`: the
 * whole book at each session's snapshot and at every minute it moved (book-checkpoints.ts), so the
 * book at any instant is the nearest checkpoint plus at most a minute of events. Both partitioned by
 * the UTC hour and symbol of the event (checkpoint) time; incremental on the bronze commit log.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BookLevel } from "@tributary/shared/contracts/book";
import { BRONZE_DATASETS, pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlString } from "../runtime/duckdb.ts";
import { checkAborted, type LakeJobEnv } from "../runtime/env.ts";
import { loadJobState, saveJobState } from "../runtime/job-state.ts";
import { publishStaged } from "../runtime/staged-publish.ts";
import {
  bookSelect,
  checkpointsSelect,
  createBookMergedSql,
  createBookNewSql,
  createBookParsedSql,
  createCheckpointsMergedSql,
} from "./book.sql.ts";
import { CheckpointReplay, type CheckpointState, isCheckpointState } from "./book-checkpoints.ts";
import { hourPartitionKey, SILVER, SILVER_BOOK_JOB } from "./datasets.ts";
import { stageHourPartitions } from "./partition-writer.ts";
import { distinctPartitions, stageQuarantine, unionPartitions } from "./quarantine.ts";
import {
  changedOf,
  listHourPartitions,
  type MergeContext,
  type MergeOutcome,
  runSilverJob,
  type SilverRunOptions,
  type SilverRunResult,
} from "./silver-run.ts";
import { createQuarantineNewSql } from "./trades.sql.ts";

export interface SilverBookCounts {
  readonly bronzeRows: number;
  readonly validRows: number;
  readonly quarantinedRows: number;
  readonly checkpointRows: number;
  readonly partitionsRewritten: number;
}

const EMPTY: SilverBookCounts = {
  bronzeRows: 0,
  validRows: 0,
  quarantinedRows: 0,
  checkpointRows: 0,
  partitionsRewritten: 0,
};

/** Where the open books between runs live (the silver job's own state holds its bronze cursor). */
const CHECKPOINT_STATE = `${SILVER_BOOK_JOB}.checkpoints`;

export function runSilverBook(
  env: LakeJobEnv,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<SilverBookCounts>> {
  return runSilverJob(
    env,
    { job: SILVER_BOOK_JOB, bronzeDataset: BRONZE_DATASETS["kraken.book"], empty: EMPTY, merge },
    opts,
  );
}

async function merge(ctx: MergeContext): Promise<MergeOutcome<SilverBookCounts>> {
  const { env, duck, reader, staging, rebuild } = ctx;
  await duck.run(createBookParsedSql());
  await duck.run(createBookNewSql());
  await duck.run(createQuarantineNewSql("book_bad", "book_parsed"));
  checkAborted(env, "merging book partitions");

  const events = SILVER.bookEvents;
  const existing = rebuild ? await listHourPartitions(reader, events) : [];
  const affected = unionPartitions(await distinctPartitions(duck, "book_new"), existing);
  const existingKeys = rebuild ? [] : await reader.existing(affected.map((p) => hourPartitionKey(events, p)));
  await duck.run(createBookMergedSql(await reader.paths(existingKeys)));
  const staged = await stageHourPartitions(duck, staging, events, bookSelect(), "session, seq", affected);

  // Checkpoints: the new events through the open books, each session in seq order (a snapshot may be
  // stamped with its receive time, after the exchange times of its first updates), sessions by first ts.
  const state = rebuild ? undefined : await loadJobState(env.store, CHECKPOINT_STATE, isCheckpointState);
  const replay = new CheckpointReplay(state);
  const rows = await duck.rows(`SELECT symbol, session, seq, depth, epoch_us(ts)::VARCHAR AS ts_us,
  list_transform(bids, lambda l: [l.price::VARCHAR, l.qty::VARCHAR]) AS bids,
  list_transform(asks, lambda l: [l.price::VARCHAR, l.qty::VARCHAR]) AS asks
FROM (SELECT DISTINCT ON (symbol, session, seq) * FROM book_new ORDER BY symbol, session, seq, kafka_offset)
ORDER BY symbol, min(ts) OVER (PARTITION BY symbol, session), session, seq`);
  for (const r of rows) {
    replay.apply({
      symbol: String(r.symbol),
      session: String(r.session),
      seq: Number(r.seq),
      depth: Number(r.depth),
      tsUs: BigInt(String(r.ts_us)),
      bids: r.bids as unknown as BookLevel[],
      asks: r.asks as unknown as BookLevel[],
    });
  }
  const cpFile = join(env.scratchDir, "book-checkpoints", `${process.pid}-${Date.now()}.ndjson`);
  mkdirSync(join(env.scratchDir, "book-checkpoints"), { recursive: true });
  writeFileSync(cpFile, replay.rows.map((r) => JSON.stringify(r)).join("\n"));
  await duck.run(`CREATE OR REPLACE TEMP TABLE book_cp_new AS
SELECT symbol, session, seq, make_timestamptz(ts_us) AS ts, depth, side, level,
  CAST(price AS DECIMAL(38,10)) AS price, CAST(qty AS DECIMAL(38,10)) AS qty
FROM read_json(${sqlString(cpFile)}, format = 'newline_delimited', columns = {symbol: 'VARCHAR', session: 'VARCHAR', seq: 'BIGINT', ts_us: 'BIGINT', depth: 'INTEGER', side: 'VARCHAR', level: 'INTEGER', price: 'VARCHAR', qty: 'VARCHAR'})`);
  const checkpoints = SILVER.bookCheckpoints;
  const cpExisting = rebuild ? await listHourPartitions(reader, checkpoints) : [];
  await duck.run(`CREATE OR REPLACE TEMP TABLE book_cp_new_p AS
SELECT ${pairOfSymbolSql("symbol")} AS p_symbol, make_timestamptz(epoch_us(ts) // 3600000000 * 3600000000) AS p_hour FROM book_cp_new`);
  const cpAffected = unionPartitions(await distinctPartitions(duck, "book_cp_new_p"), cpExisting);
  const cpKeys = rebuild
    ? []
    : await reader.existing(cpAffected.map((p) => hourPartitionKey(checkpoints, p)));
  await duck.run(createCheckpointsMergedSql(await reader.paths(cpKeys)));
  const cpStaged = await stageHourPartitions(
    duck,
    staging,
    checkpoints,
    checkpointsSelect(),
    "session, seq, side, level",
    cpAffected,
  );
  const quarantine = await stageQuarantine(
    duck,
    reader,
    staging,
    SILVER.bookQuarantine,
    "book_bad",
    rebuild ? { existing: await listHourPartitions(reader, SILVER.bookQuarantine) } : undefined,
  );
  const [c = {}] = await duck.rows(`SELECT
  (SELECT count(*) FROM book_parsed)::BIGINT AS bronze_rows,
  (SELECT count(*) FROM book_new)::BIGINT AS valid_rows,
  (SELECT count(*) FROM book_bad)::BIGINT AS bad_rows`);
  checkAborted(env, "publishing book partitions");
  const { published } = await publishStaged(env, staging, [staged, cpStaged, quarantine]);
  // After the files: a crash before this replays the batch, and seqs already applied are skipped.
  await saveJobState(env.store, CHECKPOINT_STATE, replay.state() satisfies CheckpointState);
  return {
    counts: {
      bronzeRows: Number(c.bronze_rows ?? 0),
      validRows: Number(c.valid_rows ?? 0),
      quarantinedRows: Number(c.bad_rows ?? 0),
      checkpointRows: replay.rows.length,
      partitionsRewritten: published,
    },
    changed: [
      ...affected.map((p) => changedOf(events, p)),
      ...cpAffected.map((p) => changedOf(checkpoints, p)),
      ...quarantine.owned.map((p) => changedOf(SILVER.bookQuarantine, p)),
    ],
  };
}
