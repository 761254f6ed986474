/**
 * The lake browser's Iceberg history and as-of reads, on a lake the real silver and gold jobs built in
 * two runs: what the console shows as of run 1's snapshot equals what a plain DuckDB read of the Hive
 * tree saw right after run 1 (before run 2 replaced those files), by id and by time; a gold snapshot
 * links to the silver snapshot its run read; bad or unknown `as_of` values are refused by name.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runGoldMarket } from "@tributary/lake/gold/market/market";
import { runSilverTrades } from "@tributary/lake/silver/trades";
import { commitBronze, sequentialTrades } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import type { RunningConsole } from "../server.ts";
import { startLakeConsole } from "../testing/lake-console.ts";
import type { SnapshotRow, TableHistory } from "./history.ts";

let lake: TempLake;
let consoleApp: RunningConsole;
/** What plain DuckDB read from the Hive tree after each run: trade count, exact price sum, max trade id. */
const seen: { n: string; sum: string; maxId: string }[] = [];
/** A moment between run 1's snapshot and run 2's. */
let between = "";

async function hiveState(): Promise<{ n: string; sum: string; maxId: string }> {
  const [r] = await lake.query(
    `SELECT count(*)::VARCHAR AS n, sum(price)::VARCHAR AS sum, max(trade_id)::VARCHAR AS "maxId" FROM ${lake.scan("silver", "kraken_trades")}`,
  );
  return r as { n: string; sum: string; maxId: string };
}

beforeAll(async () => {
  lake = createTempLake();
  await commitBronze(lake.commitLog, sequentialTrades(1, 30));
  await runSilverTrades(lake.env);
  seen.push(await hiveState());
  await Bun.sleep(20);
  between = new Date().toISOString();
  await Bun.sleep(20);
  await commitBronze(lake.commitLog, sequentialTrades(31, 20));
  await runSilverTrades(lake.env);
  seen.push(await hiveState());
  await runGoldMarket(lake.env, { graceMinutes: 5 });
  consoleApp = await startLakeConsole(lake.root, "console-history");
}, 120_000);

afterAll(async () => {
  await consoleApp?.stop();
  lake?.cleanup();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await consoleApp.app.request(path);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface AsOfAnswer {
  as_of: { snapshot: SnapshotRow; rows: number; files: number } | null;
  sample: { columns: { name: string }[]; rows: unknown[][] } | null;
}

test("history lists silver's two runs newest first, with their row counts and runs; the current one marked", async () => {
  const { status, body } = await get("/api/lake/silver/kraken_trades/history");
  expect(status).toBe(200);
  const h = body as unknown as TableHistory;
  expect(h.table).toBe("silver.kraken_trades");
  expect(h.total).toBe(2);
  expect(h.snapshots.map((s) => [s.totalRecords, s.current])).toEqual([
    [Number(seen[1]?.n), true],
    [Number(seen[0]?.n), false],
  ]);
  expect(h.snapshots[0]?.parent).toBe(h.snapshots[1]?.id as string);
  for (const s of h.snapshots) expect(s.run).toMatch(/silver/);
  const limited = await get("/api/lake/silver/kraken_trades/history?limit=1");
  expect((limited.body as unknown as TableHistory).snapshots.length).toBe(1);
});

test("as of run 1's snapshot, by id and by time, the console reads exactly what the Hive tree held after run 1", async () => {
  const h = (await get("/api/lake/silver/kraken_trades/history")).body as unknown as TableHistory;
  const first = h.snapshots[1] as SnapshotRow;
  expect(seen[0]).toMatchObject({ n: "30", maxId: "30" });
  for (const asOf of [first.id, between]) {
    const { status, body } = await get(`/api/lake/silver/kraken_trades?as_of=${encodeURIComponent(asOf)}`);
    expect(status).toBe(200);
    const a = body as unknown as AsOfAnswer;
    expect(a.as_of?.snapshot.id).toBe(first.id);
    expect(a.as_of?.rows).toBe(Number(seen[0]?.n));
    const idAt = a.sample?.columns.findIndex((c) => c.name === "trade_id") ?? -1;
    expect(idAt).toBeGreaterThanOrEqual(0);
    for (const r of a.sample?.rows ?? []) expect(Number(r[idAt])).toBeLessThanOrEqual(30);
  }
  // Now (a time after run 2) is run 2's snapshot, as the Hive tree holds it now.
  const now = (await get(`/api/lake/silver/kraken_trades?as_of=${new Date().toISOString()}`))
    .body as unknown as AsOfAnswer;
  expect(now.as_of?.snapshot.current).toBe(true);
  expect(now.as_of?.rows).toBe(Number(seen[1]?.n));
  // Without as_of the answer is today's view, with no as_of block.
  expect(((await get("/api/lake/silver/kraken_trades")).body as unknown as AsOfAnswer).as_of).toBeNull();
});

test("a gold snapshot links to the silver snapshot its run read", async () => {
  const silver = (await get("/api/lake/silver/kraken_trades/history")).body as unknown as TableHistory;
  const gold = (await get("/api/lake/gold/candles_1m/history")).body as unknown as TableHistory;
  expect(gold.snapshots[0]?.reads["silver.kraken_trades"]).toBe(silver.snapshots[0]?.id as string);
  const page = await (await consoleApp.app.request("/lake/gold/candles_1m")).text();
  expect(page).toContain(`href="/lake/silver/kraken_trades?as_of=${silver.snapshots[0]?.id}"`);
});

test("the dataset page as of a snapshot says so, with that snapshot's row count, and marks it in the history", async () => {
  const h = (await get("/api/lake/silver/kraken_trades/history")).body as unknown as TableHistory;
  const first = h.snapshots[1] as SnapshotRow;
  const res = await consoleApp.app.request(`/lake/silver/kraken_trades?as_of=${first.id}`);
  expect(res.status).toBe(200);
  const page = await res.text();
  expect(page).toContain('id="as-of"');
  expect(page).toMatch(
    new RegExp(`snapshot <span class="mono">${first.id}</span>.*<strong>30</strong> rows`, "s"),
  );
  expect(page).toContain(`<tr data-snapshot="${first.id}" class="selected">`);
});

test("bad or unknown as_of values and tables without history are refused, naming what was wrong", async () => {
  const bad = await get("/api/lake/silver/kraken_trades?as_of=yesterday");
  expect(bad.status).toBe(400);
  expect(String(bad.body.error)).toContain('as_of "yesterday" is neither a snapshot id');
  const huge = await get("/api/lake/silver/kraken_trades?as_of=9999999999999999999");
  expect(huge.status).toBe(400);
  expect(String(huge.body.error)).toContain("beyond 2^53");
  const unknown = await get("/api/lake/silver/kraken_trades?as_of=12345");
  expect(unknown.status).toBe(404);
  expect(String(unknown.body.error)).toMatch(
    /snapshot 12345 is not in the table .*the oldest kept is \d+ from /,
  );
  const early = await get("/api/lake/silver/kraken_trades?as_of=2001-01-01T00:00:00Z");
  expect(early.status).toBe(404);
  expect(String(early.body.error)).toContain(
    "silver.kraken_trades has no snapshot committed at or before 2001-01-01T00:00:00.000Z",
  );
  // Bronze in this lake came from the commit log alone (no table commit ran).
  const noTable = await get("/api/lake/bronze/kraken_trades/history");
  expect(noTable.status).toBe(404);
  expect(String(noTable.body.error)).toContain("bronze/kraken_trades has no Iceberg table");
  const limit = await get("/api/lake/silver/kraken_trades/history?limit=0");
  expect(limit.status).toBe(400);
});

test("the SQL box reads each table's current snapshot: a file in the Hive tree no snapshot names is not read", async () => {
  const count = async (): Promise<string> => {
    const res = await consoleApp.app.request("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sql: "SELECT count(*)::VARCHAR FROM silver.kraken_trades" }),
    });
    expect(res.status).toBe(200);
    return String(((await res.json()) as { rows: unknown[][] }).rows[0]?.[0]);
  };
  expect(await count()).toBe(seen[1]?.n as string);
  // A stray copy in the Hive tree (what a torn write of a plain writer would leave): plain readers count it twice.
  let file: string | undefined;
  for await (const o of lake.store.list("silver/kraken_trades/")) file ??= o.key;
  if (file === undefined) throw new Error("silver has no file");
  await lake.store.copy(file, file.replace(/\.parquet$/, "-stray.parquet"));
  const [hive] = await lake.query(
    `SELECT count(*)::VARCHAR AS n FROM ${lake.scan("silver", "kraken_trades")}`,
  );
  expect(hive?.n).toBe(String(2 * Number(seen[1]?.n)));
  await Bun.sleep(1_100); // the overview (and the views) refresh at most every second
  expect(await count()).toBe(seen[1]?.n as string);
});
