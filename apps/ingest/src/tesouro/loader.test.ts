import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { openSqlClient } from "../cdc/catalog.ts";
import { TESOURO_HEADER } from "./csv.ts";
import { DEFAULT_SAMPLE_FILE, loadTesouroSample, readTesouroFile } from "./loader.ts";
import { replayTesouroFeed } from "./workload.ts";

const config = loadConfig();
const schema = uniqueName("tesouro");
const dir = mkdtempSync(join(tmpdir(), "tributary-tesouro-"));
let sql: pg.Client;

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "tesouro-test");
});

afterAll(async () => {
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await sql.end();
  rmSync(dir, { recursive: true, force: true });
});

describe("Tesouro loader and live feed", () => {
  test("--load-sample loads all 19,918 real rows exactly; 15/08/2024 is the date 2024-08-15; a reload changes nothing", async () => {
    const table = { schema, table: "tesouro_prices" };
    const progress: number[] = [];
    const first = await loadTesouroSample({
      client: sql,
      table,
      quarantineFile: join(dir, "q.jsonl"),
      onProgress: (p) => progress.push(p.rows),
    });
    expect(first).toMatchObject({ rows: 19_918, written: 19_918, quarantined: 0, quarantineFile: null });
    expect(progress.at(-1)).toBe(19_918);
    const res = await sql.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE base_date = DATE '2024-08-15')::int AS aug15,
              min(base_date)::text AS first, max(base_date)::text AS last
       FROM ${schema}.tesouro_prices`,
    );
    expect(res.rows[0]).toEqual({
      n: 19_918,
      aug15: expect.any(Number),
      first: "2023-11-20",
      last: "2025-05-02",
    });
    expect((res.rows[0] as { aug15: number }).aug15).toBeGreaterThan(50);
    const row = await sql.query(
      `SELECT buy_price::text, buy_rate::text FROM ${schema}.tesouro_prices
       WHERE bond_type = 'Tesouro IPCA+ com Juros Semestrais' AND maturity_date = '2032-08-15' AND base_date = '2025-04-22'`,
    );
    expect(row.rows).toEqual([{ buy_price: "4154.13", buy_rate: "7.64" }]);
    const again = await loadTesouroSample({ client: sql, table, quarantineFile: join(dir, "q.jsonl") });
    expect(again.written).toBe(0);
  });

  test("malformed rows are quarantined with line, column, value and reason, counted, and the rest loads", async () => {
    const file = join(dir, "bad.csv");
    writeFileSync(
      file,
      [
        TESOURO_HEADER,
        "Tesouro Selic;01/03/2027;15/08/2024;-0,00;0,01;15234,56;15230,11;15230,11",
        "Tesouro Selic;01/03/2027;16/08/2024;x;0,01;15234,56;15230,11;15230,11",
        "Tesouro Selic;01/03/2027;17/08/2024;0,01;0,01;;;",
      ].join("\n"),
    );
    const table = { schema, table: "bad" };
    const result = await loadTesouroSample({
      client: sql,
      table,
      file,
      quarantineFile: join(dir, "bad.quarantine.jsonl"),
    });
    expect(result).toMatchObject({ rows: 2, written: 2, quarantined: 1 });
    const quarantined = readFileSync(join(dir, "bad.quarantine.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(quarantined).toEqual([
      expect.objectContaining({ line: 3, column: "Taxa Compra Manha", value: "x", file }),
    ]);
    const rows = await sql.query(
      `SELECT base_date::text, buy_rate::text, buy_price::text FROM ${schema}.bad ORDER BY base_date`,
    );
    expect(rows.rows).toEqual([
      { base_date: "2024-08-15", buy_rate: "0.00", buy_price: "15234.56" },
      { base_date: "2024-08-17", buy_rate: "0.01", buy_price: null },
    ]);
  });

  test("the live feed inserts each base date in turn, then corrects and retracts some quotes", async () => {
    const table = { schema, table: "feed" };
    await sql.query(`CREATE TABLE ${schema}.feed (LIKE ${schema}.tesouro_prices INCLUDING ALL)`);
    const { rows } = readTesouroFile(DEFAULT_SAMPLE_FILE);
    const days: string[] = [];
    const summary = await replayTesouroFeed({
      client: sql,
      table,
      rows,
      maxDates: 5,
      correctionRate: 0.1,
      deleteRate: 0.1,
      seed: 3,
      onDay: (d) => days.push(d.baseDate),
    });
    expect(days).toEqual([...days].sort());
    expect(days[0]).toBe("2023-11-20");
    expect(summary.dates).toBe(5);
    expect(summary.corrected).toBeGreaterThan(0);
    expect(summary.deleted).toBeGreaterThan(0);
    const count = await sql.query(`SELECT count(*)::int AS n FROM ${schema}.feed`);
    expect((count.rows[0] as { n: number }).n).toBe(summary.inserted - summary.deleted);
  });
});
