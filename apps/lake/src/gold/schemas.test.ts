/**
 * Every gold file has the columns GOLD_SCHEMAS says, in order and type: the market and Tesouro gold
 * of the lake fixture and the book gold of the recorded capture, all written by the real jobs.
 * (candle_reconciliation needs Kraken's OHLC: market/reconciliation.test.ts checks its schema.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDuckSession, sqlString } from "../runtime/duckdb.ts";
import { runSilverBook } from "../silver/book.ts";
import { bookCaptureMessages, bookRecord } from "../testing/book-capture.ts";
import { commitBronze } from "../testing/bronze-fixture.ts";
import { buildLakeFixture, fixtureEnv } from "../testing/lake-fixture.ts";
import { runGoldBook } from "./book/book.ts";
import { GOLD, GOLD_SCHEMAS } from "./datasets.ts";

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gold-schemas-"));
  await buildLakeFixture(dir, { hours: 3 });
  const env = fixtureEnv(dir);
  const capture = bookCaptureMessages();
  await commitBronze(
    env.commitLog,
    capture.map((m, i) => bookRecord(i, m)),
    { dataset: "kraken_book" },
  );
  await runSilverBook(env);
  await runGoldBook(env);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A dataset's columns as its files have them (Hive partition keys left out). */
async function fileSchema(glob: string): Promise<Record<string, string>> {
  using duck = await openDuckSession();
  const rows = await duck.rows(
    `DESCRIBE SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = false)`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

test("the jobs write every gold dataset with exactly the columns GOLD_SCHEMAS gives, in order", async () => {
  const written = readdirSync(join(dir, "gold")).sort();
  const expected = Object.keys(GOLD_SCHEMAS)
    .filter((d) => d !== GOLD.reconciliation)
    .sort();
  expect(written).toEqual(expected);
  for (const dataset of written) {
    const actual = await fileSchema(join(dir, "gold", dataset, "**", "*.parquet"));
    // toEqual ignores key order: compare the entries to hold the column order too.
    expect({ dataset, columns: Object.entries(actual) }).toEqual({
      dataset,
      columns: Object.entries(GOLD_SCHEMAS[dataset] ?? {}),
    });
  }
});
