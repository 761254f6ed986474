/**
 * Lands the Kafka records of one CDC table as its bronze (one commit, as the writer would) and runs
 * CDC silver for that table: how the CDC end-to-end tests turn a captured topic into silver.
 */
import type { TopicRecord } from "@tributary/ingest/cdc/testing/support";
import { type CdcSilverResult, runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { type CdcTable, cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { commitBronze } from "@tributary/lake/testing/bronze-fixture";
import type { TempLake } from "@tributary/lake/testing/temp-lake";

/** A fixed ingestion time: silver orders by the envelopes' own LSNs, not by when bronze saw them. */
const INGESTED_AT = 1_800_000_000_000_000n;

export async function landCdcSilver(
  lake: TempLake,
  records: readonly TopicRecord[],
  table: CdcTable,
): Promise<CdcSilverResult> {
  await commitBronze(
    lake.commitLog,
    records.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      offset: Number(r.offset),
      key: r.key,
      value: r.value as string,
      ingestedAt: INGESTED_AT,
      eventTs: INGESTED_AT,
      symbol: "ALL",
    })),
    { dataset: cdcDatasetName(table) },
  );
  return await runCdcSilver(lake.env, table);
}
