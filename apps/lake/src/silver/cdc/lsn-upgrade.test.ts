/**
 * A lake written before CDC silver's `_lsn` became a BIGINT holds UBIGINT `_lsn` files, no tables for
 * those datasets (a UBIGINT has no Iceberg type) and job states without `lsnBigint`. The next run with
 * changes rebuilds once:
 * every file is rewritten with a BIGINT `_lsn`, both datasets become tables, and later runs are
 * incremental again.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { openDuckSession, sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { loadJobState, saveJobState } from "../../runtime/job-state.ts";
import { type BronzeRecord, commitBronze } from "../../testing/bronze-fixture.ts";
import { fixtureEnv, tesouroSnapshotRecords } from "../../testing/lake-fixture.ts";
import { cdcSilverJob, runCdcSilver } from "./replay.ts";
import { type CdcSilverState, isCdcSilverState } from "./silver-state.ts";
import { cdcDatasetName, cdcHistoryDatasetName, tesouroTable } from "./tables.ts";

const dir = mkdtempSync(join(tmpdir(), "cdc-lsn-upgrade-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const table = tesouroTable();
const datasets = [cdcDatasetName(table), cdcHistoryDatasetName(table)];
const filesOf = (name: string): string[] =>
  readdirSync(join(dir, "silver", name), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".parquet"))
    .map((f) => join(dir, "silver", name, f));

/** A streamed update of `record`'s row (a Debezium `u` envelope at `lsn`), as bronze offset `offset`. */
function update(record: BronzeRecord, offset: number, lsn: number, sellPrice: string): BronzeRecord {
  const v = JSON.parse(String(record.value)) as {
    op: string;
    after: Record<string, unknown>;
    source: Record<string, unknown>;
  };
  const envelope = {
    ...v,
    op: "u",
    after: { ...v.after, sell_price: sellPrice },
    source: { ...v.source, snapshot: "false", lsn, sequence: JSON.stringify([null, String(lsn)]) },
  };
  return { ...record, offset, value: JSON.stringify(envelope) };
}

test("UBIGINT _lsn files of an older lake: one rebuild makes both datasets tables, then runs are incremental", async () => {
  const env = fixtureEnv(dir);
  const catalog = new EmbeddedCatalog(env.store);
  const records = tesouroSnapshotRecords(parseRfc3339Micros("2024-03-04T00:00:00Z"));
  const first = records[0] as BronzeRecord;
  const key = JSON.parse(String(first.key)) as Record<string, string>;
  await commitBronze(env.commitLog, records, { dataset: cdcDatasetName(table) });
  await runCdcSilver(env, table);

  // The older lake: no tables, every silver file's _lsn a UBIGINT, and a job state without `lsnBigint`.
  rmSync(join(dir, "_iceberg"), { recursive: true, force: true });
  const state = await loadJobState(env.store, cdcSilverJob(table), isCdcSilverState);
  expect(state?.lsnBigint).toBe(true);
  const { lsnBigint: _, ...older } = state as CdcSilverState;
  await saveJobState(env.store, cdcSilverJob(table), older);
  using duck = await openDuckSession();
  const unsigned = async (): Promise<number> =>
    Number(
      await duck.scalar(
        `SELECT count(*) FROM parquet_schema(${sqlStringList(datasets.flatMap(filesOf))}) WHERE name = '_lsn' AND converted_type = 'UINT_64'`,
      ),
    );
  for (const file of datasets.flatMap(filesOf)) {
    await duck.run(
      `COPY (SELECT * REPLACE (_lsn::UBIGINT AS _lsn) FROM read_parquet(${sqlString(file)})) TO ${sqlString(`${file}.old`)} (FORMAT parquet)`,
    );
    renameSync(`${file}.old`, file);
  }
  expect(await unsigned()).toBe(datasets.flatMap(filesOf).length);

  await commitBronze(env.commitLog, [update(first, records.length, 2_000_000, "1.00")], {
    dataset: cdcDatasetName(table),
  });
  const healed = await runCdcSilver(env, table);
  expect(healed.rebuilt).toBe(true);
  expect(await unsigned()).toBe(0);
  for (const name of datasets) expect(await catalog.load({ namespace: "silver", name })).toBeDefined();
  const current = `read_parquet(${sqlStringList(filesOf(datasets[0] as string))})`;
  const where = `bond_type = ${sqlString(key.bond_type as string)} AND maturity_date = ${sqlString(key.maturity_date as string)} AND base_date = ${sqlString(key.base_date as string)}`;
  expect(String(await duck.scalar(`SELECT count(*) FROM ${current}`))).toBe(String(records.length));
  expect(String(await duck.scalar(`SELECT sell_price FROM ${current} WHERE ${where}`))).toBe("1.00");

  // With the tables in place, the next change is folded incrementally into them.
  await commitBronze(env.commitLog, [update(first, records.length + 1, 3_000_000, "2.00")], {
    dataset: cdcDatasetName(table),
  });
  const next = await runCdcSilver(env, table);
  expect(next.rebuilt).toBe(false);
  expect(String(await duck.scalar(`SELECT sell_price FROM ${current} WHERE ${where}`))).toBe("2.00");
});
