/**
 * The silver job shape shared by the datasets that keep typed messages without trade deduplication
 * (ticker, Kraken's OHLC): parse `bronze_batch` into `<name>_parsed` (values + reason), split it into
 * valid rows and the quarantine, merge the valid rows with the affected hour partitions, publish both.
 */
import { checkAborted, type LakeJobEnv } from "../runtime/env.ts";
import { publishStaged } from "../runtime/staged-publish.ts";
import { hourPartitionKey, type SILVER } from "./datasets.ts";
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

export interface TypedMessageCounts {
  readonly bronzeRows: number;
  readonly validRows: number;
  readonly quarantinedRows: number;
  readonly partitionsRewritten: number;
  readonly partitionsDeleted: number;
}

const EMPTY_COUNTS: TypedMessageCounts = {
  bronzeRows: 0,
  validRows: 0,
  quarantinedRows: 0,
  partitionsRewritten: 0,
  partitionsDeleted: 0,
};

type SilverDataset = (typeof SILVER)[keyof typeof SILVER];

export interface TypedMessageJob {
  readonly job: string;
  readonly bronzeDataset: string;
  /** Table prefix: `<name>_parsed`, `<name>_new`, `<name>_bad`. */
  readonly name: string;
  readonly dataset: SilverDataset;
  readonly quarantine: SilverDataset;
  /** Statements creating `<name>_parsed` then `<name>_new`. */
  readonly parseSql: readonly string[];
  /** The statement merging `<name>_new` with the given existing files. */
  readonly mergedSql: (existingFiles: readonly string[]) => string;
  /** The rows to write, with `p_symbol` and `p_hour`. */
  readonly select: string;
  readonly orderBy: string;
}

export function runTypedMessageJob(
  env: LakeJobEnv,
  spec: TypedMessageJob,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<TypedMessageCounts>> {
  return runSilverJob(
    env,
    {
      job: spec.job,
      bronzeDataset: spec.bronzeDataset,
      empty: EMPTY_COUNTS,
      merge: (ctx) => merge(ctx, spec),
    },
    opts,
  );
}

async function merge(ctx: MergeContext, spec: TypedMessageJob): Promise<MergeOutcome<TypedMessageCounts>> {
  const { env, duck, reader, staging, rebuild } = ctx;
  const [parsed, fresh, bad] = [`${spec.name}_parsed`, `${spec.name}_new`, `${spec.name}_bad`];
  for (const sql of spec.parseSql) await duck.run(sql);
  await duck.run(createQuarantineNewSql(bad, parsed));
  checkAborted(env, `merging ${spec.dataset} partitions`);

  const existing = rebuild ? await listHourPartitions(reader, spec.dataset) : [];
  const affected = unionPartitions(await distinctPartitions(duck, fresh), existing);
  const existingKeys = rebuild
    ? []
    : await reader.existing(affected.map((p) => hourPartitionKey(spec.dataset, p)));
  await duck.run(spec.mergedSql(await reader.paths(existingKeys)));
  const staged = await stageHourPartitions(duck, staging, spec.dataset, spec.select, spec.orderBy, affected);
  const quarantine = await stageQuarantine(
    duck,
    reader,
    staging,
    spec.quarantine,
    bad,
    rebuild ? { existing: await listHourPartitions(reader, spec.quarantine) } : undefined,
  );
  const [c = {}] = await duck.rows(`SELECT
  (SELECT count(*) FROM ${parsed})::BIGINT AS bronze_rows,
  (SELECT count(*) FROM ${fresh})::BIGINT AS valid_rows,
  (SELECT count(*) FROM ${bad})::BIGINT AS bad_rows`);
  checkAborted(env, `publishing ${spec.dataset} partitions`);
  const published = await publishStaged(env, staging, [staged, quarantine]);
  return {
    counts: {
      bronzeRows: Number(c.bronze_rows ?? 0),
      validRows: Number(c.valid_rows ?? 0),
      quarantinedRows: Number(c.bad_rows ?? 0),
      partitionsRewritten: published.published,
      partitionsDeleted: published.deleted,
    },
    changed: [
      ...affected.map((p) => changedOf(spec.dataset, p)),
      ...quarantine.owned.map((p) => changedOf(spec.quarantine, p)),
    ],
  };
}
