import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, statSync } from "node:fs";
import { TRADE_RULE } from "@tributary/shared/contracts/trade-rules";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { ChangeJournal } from "../runtime/change-journal.ts";
import { deleteJobState } from "../runtime/job-state.ts";
import {
  type BronzeRecord,
  commitBronze,
  compactBronzeDir,
  publishStaged,
  tradeJson,
} from "../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../testing/temp-lake.ts";
import { SILVER_TRADES_JOB } from "./datasets.ts";
import { runSilverTrades } from "./trades.ts";

const T0 = parseRfc3339Micros("2024-03-10T13:59:59.999999Z");
let lake: TempLake;
afterEach(() => lake?.cleanup());

function rec(offset: number, msg: string | Uint8Array, extra: Partial<BronzeRecord> = {}): BronzeRecord {
  return { partition: 0, offset, key: "BTC/USD", value: msg, ingestedAt: T0 + 5_000_000n, ...extra };
}

async function silverRows(l: TempLake): Promise<Record<string, unknown>[]> {
  return l.query(
    `SELECT trade_id, price::VARCHAR AS price, qty::VARCHAR AS qty, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, side, ord_type, source, kafka_offset
     FROM ${l.scan("silver", "kraken_trades")} ORDER BY symbol, trade_id`,
  );
}

describe("silver trades", () => {
  test("types price and qty as DECIMAL(38,10) and keeps timestamps to the microsecond", async () => {
    lake = createTempLake();
    await commitBronze(lake.commitLog, [
      rec(
        0,
        tradeJson({ trade_id: 7, ts: "2024-03-10T13:59:59.999999Z", price: "68123.4", qty: "0.00000001" }),
      ),
      rec(
        1,
        tradeJson({
          trade_id: 8,
          ts: "2024-03-10T14:00:00.000001Z",
          price: "0.0000000001",
          qty: "12345678.12345678",
        }),
      ),
      // Beyond the fast path's DECIMAL(18,10): nine integer digits.
      rec(
        2,
        tradeJson({ trade_id: 9, ts: "2024-03-10T14:00:00.000002Z", price: "0.0001", qty: "123456789.5" }),
      ),
    ]);
    const result = await runSilverTrades(lake.env);
    expect(result.validRows).toBe(3);
    const types =
      await lake.query(`SELECT typeof(price) AS p, typeof(qty) AS q, typeof(ts) AS t, typeof(trade_id) AS id
      FROM ${lake.scan("silver", "kraken_trades")} LIMIT 1`);
    expect(types[0]).toEqual({
      p: "DECIMAL(38,10)",
      q: "DECIMAL(38,10)",
      t: "TIMESTAMP WITH TIME ZONE",
      id: "BIGINT",
    });
    const rows = await silverRows(lake);
    expect(rows.map((r) => [r.trade_id, r.price, r.qty, r.ts])).toEqual([
      ["7", "68123.4000000000", "0.0000000100", "2024-03-10T13:59:59.999999Z"],
      ["8", "0.0000000001", "12345678.1234567800", "2024-03-10T14:00:00.000001Z"],
      ["9", "0.0001000000", "123456789.5000000000", "2024-03-10T14:00:00.000002Z"],
    ]);
    // The two trades straddle an hour boundary: two partitions, one file each.
    const files = await lake.query(
      `SELECT file FROM glob(${"'"}${lake.root}/silver/kraken_trades/**/*.parquet') ORDER BY file`,
    );
    expect(files.map((f) => String(f.file).slice(lake.root.length))).toEqual([
      "/silver/kraken_trades/year=2024/month=3/day=10/hour=13/pair=BTC_USD/part-0.parquet",
      "/silver/kraken_trades/year=2024/month=3/day=10/hour=14/pair=BTC_USD/part-0.parquet",
    ]);
  });

  test("messages off the ingester's canonical layout parse to the same typed rows", async () => {
    lake = createTempLake();
    const canonical = tradeJson({
      trade_id: 7,
      ts: "2024-03-10T13:59:59.999999Z",
      price: "68123.4",
      qty: "0.5",
    });
    const shuffled = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(canonical)).reverse()));
    const variants = [
      shuffled,
      canonical.replace('"BTC/USD"', '"BTC\\/USD"'), // Kraken REST's escaped slash
      canonical.replace('"ts":"2024-03-10T13:59:59.999999Z"', '"ts":"2024-03-10T14:59:59.999999+01:00"'),
      canonical.replace('"qty":"0.5"', '"qty":"0.5000000000"'),
      ` ${canonical}\n`,
    ];
    await commitBronze(
      lake.commitLog,
      [canonical, ...variants].map((v, i) => rec(i, v)),
    );
    const result = await runSilverTrades(lake.env);
    expect(result).toMatchObject({ validRows: 6, quarantinedRows: 0, duplicateRows: 5 });
    const rows =
      await lake.query(`SELECT DISTINCT symbol, trade_id, price::VARCHAR AS p, qty::VARCHAR AS q, epoch_us(ts)::VARCHAR AS t
      FROM (SELECT * FROM ${lake.scan("silver", "kraken_trades")} UNION ALL BY NAME SELECT * FROM ${lake.scan("silver", "kraken_trades_duplicates")})`);
    expect(rows).toEqual([
      {
        symbol: "BTC/USD",
        trade_id: "7",
        p: "68123.4000000000",
        q: "0.5000000000",
        t: String(parseRfc3339Micros("2024-03-10T13:59:59.999999Z")),
      },
    ]);
  });

  test("quarantines every invalid row with its reason and never rounds", async () => {
    lake = createTempLake();
    const ts = "2024-03-10T13:00:00.000000Z";
    const bad: Array<[string | Uint8Array, string]> = [
      ["{not json", "value is not valid JSON"],
      [new Uint8Array([0xff, 0xfe, 0x7b]), "value is not valid UTF-8"],
      ["[1,2]", "value is not a JSON object"],
      [tradeJson({ trade_id: 1, ts, price: "1.12345678901" }), "price has more than 10 fractional digits"],
      [tradeJson({ trade_id: 2, ts, price: "1e5" }), "price is not a decimal string"],
      [tradeJson({ trade_id: 3, ts, price: 100.5 }), "price is not a decimal string"],
      [tradeJson({ trade_id: 4, ts, qty: "-1" }), "qty is not positive"],
      [tradeJson({ trade_id: 5, ts, qty: "0" }), "qty is not positive"],
      [tradeJson({ trade_id: 0, ts }), TRADE_RULE.tradeIdRange],
      [
        tradeJson({ trade_id: 6, ts: "2024-03-10T13:00:00.1234567Z" }),
        "ts has more than 6 fractional digits",
      ],
      [tradeJson({ trade_id: 7, ts: "2024-02-30T13:00:00Z" }), "ts is not an RFC 3339 timestamp"],
      [tradeJson({ trade_id: 8, ts, side: "b" }), "side is not buy or sell"],
      [tradeJson({ trade_id: 9, ts, v: 2 }), "unsupported contract version v=2"],
      [tradeJson({ trade_id: 10, ts, symbol: "btcusd" }), "symbol is not BASE/QUOTE"],
      [tradeJson({ trade_id: 11, ts, price: "1234567890123456.5" }), "price has more than 15 integer digits"],
      [
        tradeJson({ trade_id: 13, ts, price: "100000000", qty: "10000000" }),
        "notional price*qty is not below 1e15",
      ],
    ];
    const good = tradeJson({ trade_id: 12, ts, price: "42.5" });
    await commitBronze(lake.commitLog, [
      ...bad.map(([value], i) => rec(i, value, { kafkaTimestamp: parseRfc3339Micros(ts) })),
      rec(bad.length, good),
    ]);
    const result = await runSilverTrades(lake.env);
    expect(result).toMatchObject({ bronzeRows: bad.length + 1, validRows: 1, quarantinedRows: bad.length });
    const q = await lake.query(
      `SELECT kafka_offset, reason, raw, partition_symbol, strftime(partition_hour, '%H') AS h FROM ${lake.scan("silver", "kraken_trades_quarantine")} ORDER BY kafka_offset`,
    );
    expect(q.length).toBe(bad.length);
    for (const [i, row] of q.entries()) {
      expect(String(row.reason)).toStartWith((bad[i] as [unknown, string])[1]);
      expect(row.partition_symbol).toBe("BTC_USD");
      expect(row.h).toBe("13");
    }
    // Raw bytes are kept verbatim, even when they are not UTF-8.
    expect(q[1]?.raw).toBe("\\xFF\\xFE{");
    expect((await silverRows(lake)).map((r) => r.price)).toEqual(["42.5000000000"]);
  });

  test("a WebSocket copy wins over a REST copy seen earlier, even when the REST float put it 1 µs into the next hour", async () => {
    lake = createTempLake();
    await commitBronze(lake.commitLog, [
      rec(0, tradeJson({ trade_id: 500, ts: "2024-03-10T14:00:00.000000Z", price: "10.0", source: "rest" })),
    ]);
    await runSilverTrades(lake.env);
    await commitBronze(lake.commitLog, [
      rec(1, tradeJson({ trade_id: 500, ts: "2024-03-10T13:59:59.999999Z", price: "10.0", source: "ws" })),
    ]);
    await runSilverTrades(lake.env);
    expect((await silverRows(lake)).map((r) => [r.trade_id, r.ts, r.source])).toEqual([
      ["500", "2024-03-10T13:59:59.999999Z", "ws"],
    ]);
    const dups = await lake.query(
      `SELECT source, kept_kafka_offset::INT AS kept FROM ${lake.scan("silver", "kraken_trades_duplicates")}`,
    );
    expect(dups).toEqual([{ source: "rest", kept: 1 }]);
  });

  test("a duplicate arriving days later in another batch is caught and the first seen copy is kept", async () => {
    lake = createTempLake();
    const ts = "2024-03-10T13:30:00.000000Z";
    await commitBronze(lake.commitLog, [
      rec(0, tradeJson({ trade_id: 100, ts, price: "10.0", source: "ws" })),
      rec(1, tradeJson({ trade_id: 101, ts, price: "11.0" })),
    ]);
    await runSilverTrades(lake.env);
    const days = 3n * 86_400_000_000n;
    // Days later: the REST backfill sends 100 again, plus a new trade in a new hour.
    await commitBronze(lake.commitLog, [
      rec(2, tradeJson({ trade_id: 100, ts, price: "10.0", source: "rest" }), { ingestedAt: T0 + days }),
      rec(3, tradeJson({ trade_id: 102, ts: "2024-03-13T10:00:00.000000Z", price: "12.0" }), {
        ingestedAt: T0 + days,
      }),
    ]);
    const second = await runSilverTrades(lake.env);
    expect(second.validRows).toBe(2);
    const rows = await silverRows(lake);
    expect(rows.map((r) => [r.trade_id, r.source, r.kafka_offset])).toEqual([
      ["100", "ws", "0"],
      ["101", "ws", "1"],
      ["102", "ws", "3"],
    ]);
    const dups = await lake.query(
      `SELECT trade_id, kafka_offset, kept_kafka_offset, source FROM ${lake.scan("silver", "kraken_trades_duplicates")}`,
    );
    expect(dups).toEqual([{ trade_id: "100", kafka_offset: "2", kept_kafka_offset: "0", source: "rest" }]);
  });

  test("copies of a trade that disagree on the hour are still deduplicated (key index)", async () => {
    lake = createTempLake();
    await commitBronze(lake.commitLog, [
      rec(0, tradeJson({ trade_id: 500, ts: "2024-03-10T13:59:59.999999Z" })),
    ]);
    await runSilverTrades(lake.env);
    // A REST copy whose float time rounded into the next hour.
    await commitBronze(lake.commitLog, [
      rec(1, tradeJson({ trade_id: 500, ts: "2024-03-10T14:00:00.000000Z" })),
    ]);
    await runSilverTrades(lake.env);
    const rows = await silverRows(lake);
    expect(rows.map((r) => [r.trade_id, r.ts])).toEqual([["500", "2024-03-10T13:59:59.999999Z"]]);
    const dups = await lake.query(
      `SELECT trade_id, kafka_offset FROM ${lake.scan("silver", "kraken_trades_duplicates")}`,
    );
    expect(dups).toEqual([{ trade_id: "500", kafka_offset: "1" }]);
  });

  test("every bronze row ends in exactly one of silver, duplicates or quarantine, and a rebuild gives the same rows", async () => {
    lake = createTempLake();
    const records: BronzeRecord[] = [];
    const validIds = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const id = 1000 + (i % 250); // 50 duplicates
      const minute = String(id % 60).padStart(2, "0");
      const hour = String(10 + (id % 3)).padStart(2, "0");
      const garbage = i % 97 === 5;
      if (!garbage) validIds.add(id);
      const value = garbage
        ? "garbage"
        : tradeJson({ trade_id: id, ts: `2024-03-10T${hour}:${minute}:00.000000Z` });
      records.push(rec(i, value));
    }
    // Three batches, the duplicates spread over them.
    await commitBronze(lake.commitLog, records.slice(0, 100));
    await runSilverTrades(lake.env);
    await commitBronze(lake.commitLog, records.slice(100, 220));
    await runSilverTrades(lake.env);
    await commitBronze(lake.commitLog, records.slice(220));
    await runSilverTrades(lake.env);
    const snapshot = async (): Promise<unknown> =>
      lake.query(`SELECT 'silver' AS ds, kafka_offset, trade_id FROM ${lake.scan("silver", "kraken_trades")}
        UNION ALL SELECT 'dup', kafka_offset, trade_id FROM ${lake.scan("silver", "kraken_trades_duplicates")}
        UNION ALL SELECT 'bad', kafka_offset, NULL FROM ${lake.scan("silver", "kraken_trades_quarantine")}
        ORDER BY kafka_offset`);
    const incremental = (await snapshot()) as Array<{ ds: string; kafka_offset: string }>;
    expect(incremental.map((r) => Number(r.kafka_offset))).toEqual(records.map((r) => r.offset));
    const counts = await lake.query(
      `SELECT count(*)::INT AS n, count(DISTINCT trade_id)::INT AS ids FROM ${lake.scan("silver", "kraken_trades")}`,
    );
    expect(counts[0]).toEqual({ n: validIds.size, ids: validIds.size });
    expect(validIds.size).toBe(248); // two ids have only a garbage copy
    await deleteJobState(lake.store, SILVER_TRADES_JOB);
    const rebuilt = await runSilverTrades(lake.env, { rebuild: true });
    expect(rebuilt.bronzeRows).toBe(300);
    expect(await snapshot()).toEqual(incremental);
    // Re-running with nothing new changes nothing.
    const again = await runSilverTrades(lake.env);
    expect(again.bronzeRows).toBe(0);
    expect(await snapshot()).toEqual(incremental);
  });

  test("rewrites only the affected partitions and journals them", async () => {
    lake = createTempLake();
    await commitBronze(lake.commitLog, [
      rec(0, tradeJson({ trade_id: 1, ts: "2024-03-10T10:00:00Z" })),
      rec(1, tradeJson({ trade_id: 2, ts: "2024-03-10T11:00:00Z" })),
    ]);
    const first = await runSilverTrades(lake.env);
    const untouched = `${lake.root}/silver/kraken_trades/year=2024/month=3/day=10/hour=10/pair=BTC_USD/part-0.parquet`;
    const inode = statSync(untouched).ino;
    await commitBronze(lake.commitLog, [rec(2, tradeJson({ trade_id: 3, ts: "2024-03-10T11:30:00Z" }))]);
    const second = await runSilverTrades(lake.env);
    expect(statSync(untouched).ino).toBe(inode);
    const journal = new ChangeJournal(lake.store, SILVER_TRADES_JOB);
    const { entries } = await journal.since(first.changeSeq);
    expect(second.changeSeq).toBe(first.changeSeq + 1);
    expect(entries.flatMap((e) => e.partitions.map((p) => `${p.dataset}@${p.hour}`)).sort()).toEqual([
      "kraken_trades@2024-03-10T11:00:00.000000Z",
      "kraken_trades_duplicates@2024-03-10T11:00:00.000000Z",
    ]);
  });

  test("reads commits whose files bronze compaction replaced, and waits for files not yet moved in", async () => {
    lake = createTempLake();
    const dir = "bronze/kraken_trades/year=2024/month=3/day=10/hour=10/pair=BTC_USD";
    await commitBronze(lake.commitLog, [rec(0, tradeJson({ trade_id: 1, ts: "2024-03-10T10:00:00Z" }))]);
    await commitBronze(lake.commitLog, [rec(1, tradeJson({ trade_id: 2, ts: "2024-03-10T10:01:00Z" }))]);
    await compactBronzeDir(lake.commitLog, dir);
    const staged = await commitBronze(
      lake.commitLog,
      [rec(2, tradeJson({ trade_id: 3, ts: "2024-03-10T10:02:00Z" }))],
      {
        leaveStaged: true,
      },
    );
    const first = await runSilverTrades(lake.env);
    expect(first).toMatchObject({ validRows: 2, deferredCommits: 1 });
    await publishStaged(lake.commitLog, staged[0] as NonNullable<(typeof staged)[0]>);
    const second = await runSilverTrades(lake.env);
    expect(second).toMatchObject({ validRows: 1, deferredCommits: 0 });
    expect((await silverRows(lake)).map((r) => r.trade_id)).toEqual(["1", "2", "3"]);
  });

  test("a backfill range re-reads bronze and leaves silver unchanged", async () => {
    lake = createTempLake();
    await commitBronze(lake.commitLog, [
      rec(0, tradeJson({ trade_id: 1, ts: "2024-03-10T10:00:00Z" })),
      rec(1, tradeJson({ trade_id: 1, ts: "2024-03-10T10:00:00Z" })),
    ]);
    await runSilverTrades(lake.env);
    const before = await silverRows(lake);
    const result = await runSilverTrades(lake.env, {
      range: {
        from: parseRfc3339Micros("2024-03-10T00:00:00Z"),
        to: parseRfc3339Micros("2024-03-11T00:00:00Z"),
      },
    });
    expect(result.bronzeRows).toBe(2);
    expect(await silverRows(lake)).toEqual(before);
    const dups = await lake.query(
      `SELECT count(*)::INT AS n FROM ${lake.scan("silver", "kraken_trades_duplicates")}`,
    );
    expect(dups[0]?.n).toBe(1);
  });

  test("a bronze row read twice (compaction in flight) is still one silver row and no duplicate", async () => {
    lake = createTempLake();
    const [record] = await commitBronze(lake.commitLog, [
      rec(0, tradeJson({ trade_id: 1, ts: "2024-03-10T10:00:00Z" })),
    ]);
    const file = record?.files[0]?.path as string;
    // Compaction has moved its merged file in and not yet deleted the old one: both are in the tree.
    copyFileSync(lake.store.url(file), lake.store.url(file.replace(/[^/]+$/, "compacted-1.parquet")));
    const result = await runSilverTrades(lake.env, {
      range: {
        from: parseRfc3339Micros("2024-03-10T10:00:00Z"),
        to: parseRfc3339Micros("2024-03-10T11:00:00Z"),
      },
    });
    expect(result.bronzeRows).toBe(2);
    expect((await silverRows(lake)).map((r) => r.trade_id)).toEqual(["1"]);
    expect(
      await lake.store.exists(
        "silver/kraken_trades_duplicates/year=2024/month=3/day=10/hour=10/pair=BTC_USD/part-0.parquet",
      ),
    ).toBe(false);
  });
});
