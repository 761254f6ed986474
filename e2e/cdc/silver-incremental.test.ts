/**
 * Incremental CDC silver against its own rebuild and against the source's state: a seeded random
 * script (snapshot, inserts, updates with unchanged TOAST, deletes, primary-key changes that mostly
 * leave the TOASTed value alone, chains of them, a truncate, a re-snapshot, replays after a "crash") is delivered over three Kafka partitions in small bronze
 * commits that interleave the partitions; silver runs after many of them with a small row budget.
 * At the end the current state equals the script's table, and current and history equal what one
 * run over all of bronze builds.
 */
import { afterAll, expect, test } from "bun:test";
import { OID } from "@tributary/ingest/cdc/column-values";
import {
  type EncodedRecord,
  encodeChange,
  encodeSnapshotRead,
  encodeTruncate,
  tableShape,
} from "@tributary/ingest/cdc/envelope";
import { type TupleValue, UNCHANGED_TOAST } from "@tributary/ingest/cdc/pgoutput";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { type BronzeRecord, commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import { testRandom } from "@tributary/shared/testing/random";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const TRANSACTIONS = SOAK ? 3_000 : 250;
const lakes: TempLake[] = [];
afterAll(() => {
  for (const l of lakes) l.cleanup();
});

const shape = tableShape(
  "public",
  "acct",
  [
    { name: "id", typeOid: OID.int4 },
    { name: "v", typeOid: OID.text },
    { name: "n", typeOid: OID.numeric },
    { name: "big", typeOid: OID.text },
  ],
  ["id"],
);
const ctx = { prefix: "cdc", db: "tributary" };
const table = { schema: "public", table: "acct" };
const dataset = "cdc_public_acct";
const topic = "cdc.public.acct";
const T0 = 1_723_680_000_000_000n;
type Row = { v: string; n: string; big: string };

/** The script: every record each partition receives, in order, and the table it leaves. */
function script(random: () => number): { partitions: EncodedRecord[][]; model: Map<number, Row> } {
  const model = new Map<number, Row>();
  const partitions: EncodedRecord[][] = [[], [], []];
  const sent: { partition: number; record: EncodedRecord }[] = [];
  const txStarts: number[] = [];
  let lsn = 1_000n;
  let nextId = 1;
  const send = (records: readonly EncodedRecord[], id: number | null) => {
    for (const record of records) {
      if (record.value === null) continue; // tombstones are for compacted topics, not bronze
      const partition = id === null ? 0 : id % 3;
      partitions[partition]?.push(record);
      sent.push({ partition, record });
    }
  };
  const row = (): Row => ({
    v: `v${Math.floor(random() * 1000)}`,
    n: (random() * 1000).toFixed(2),
    big: `big-${Math.floor(random() * 1e6)}`,
  });
  const tuple = (id: number, r: Row, toast = false): TupleValue[] => [
    String(id),
    r.v,
    r.n,
    toast ? UNCHANGED_TOAST : r.big,
  ];
  const snapshot = () => {
    const cp = ++lsn;
    for (const [id, r] of [...model.entries()].sort(([a], [b]) => a - b))
      send(
        [
          encodeSnapshotRead(
            ctx,
            shape,
            tuple(id, r),
            { consistentPoint: cp, startedMicros: T0 + cp, marker: "true" },
            T0,
          ),
        ],
        id,
      );
  };
  for (let i = 0; i < 20; i++) model.set(nextId++, row());
  snapshot();
  for (let t = 0; t < TRANSACTIONS; t++) {
    txStarts.push(sent.length);
    const ids = [...model.keys()];
    const pick = () => ids[Math.floor(random() * ids.length)] as number;
    const commitLsn = lsn + 10n;
    const pos = () => ({
      xid: t,
      commitLsn,
      lsn: ++lsn,
      commitTimeMicros: T0 + commitLsn * 1000n,
      totalOrder: 1,
      dataCollectionOrder: 1,
    });
    const dice = random();
    if (t === Math.floor(TRANSACTIONS / 3)) {
      send([encodeTruncate(ctx, shape, pos(), T0)], null);
      model.clear();
    } else if (t === Math.floor((2 * TRANSACTIONS) / 3)) {
      lsn = commitLsn;
      snapshot();
      continue;
    } else if (dice < 0.3 || ids.length < 5) {
      const id = nextId++;
      const r = row();
      model.set(id, r);
      send(
        encodeChange(
          ctx,
          shape,
          { op: "c", oldTuple: null, oldKind: null, newTuple: tuple(id, r) },
          pos(),
          T0,
        ).records,
        id,
      );
    } else if (dice < 0.7) {
      const id = pick();
      const old = model.get(id) as Row;
      const toast = random() < 0.4;
      const r = { ...row(), big: toast ? old.big : row().big };
      model.set(id, r);
      const change = { op: "u" as const, oldTuple: null, oldKind: null, newTuple: tuple(id, r, toast) };
      send(encodeChange(ctx, shape, change, pos(), T0).records, id);
    } else if (dice < 0.85) {
      const id = pick();
      model.delete(id);
      const change = {
        op: "d" as const,
        oldTuple: [String(id), null, null, null],
        oldKind: "key" as const,
        newTuple: null,
      };
      send(encodeChange(ctx, shape, change, pos(), T0).records, id);
    } else {
      // Primary-key changes: a delete of the old key and an insert of the new one (different
      // partitions), mostly leaving the large value alone (a placeholder in the insert); sometimes a
      // chain (a → b → c) in one transaction, sometimes the last key deleted in the same transaction.
      let id = pick();
      for (let hop = random() < 0.3 ? 2 : 1; hop > 0; hop--) {
        const to = nextId++;
        const old = model.get(id) as Row;
        const toast = random() < 0.7;
        const r = toast ? { ...old, n: random() < 0.5 ? old.n : row().n } : { ...old, big: row().big };
        model.delete(id);
        model.set(to, r);
        const change = {
          op: "u" as const,
          oldTuple: [String(id), null, null, null],
          oldKind: "key" as const,
          newTuple: tuple(to, r, toast),
        };
        const { records } = encodeChange(ctx, shape, change, pos(), T0);
        send(
          records.filter((x) => x.op === "d"),
          id,
        );
        send(
          records.filter((x) => x.op === "c"),
          to,
        );
        id = to;
      }
      if (random() < 0.15) {
        model.delete(id);
        const change = {
          op: "d" as const,
          oldTuple: [String(id), null, null, null],
          oldKind: "key" as const,
          newTuple: null,
        };
        send(encodeChange(ctx, shape, change, pos(), T0).records, id);
      }
    }
    lsn = commitLsn;
    // A crash of the source: the transactions since an earlier one are sent again.
    if (random() < 0.01 && txStarts.length > 5) {
      const from = txStarts[txStarts.length - 1 - Math.floor(random() * 5)] as number;
      for (const { partition, record } of sent.slice(from)) partitions[partition]?.push(record);
    }
  }
  return { partitions, model };
}

const bronze = (records: readonly EncodedRecord[], partition: number, firstOffset: number): BronzeRecord[] =>
  records.map((r, i) => ({
    topic,
    partition,
    offset: firstOffset + i,
    key: r.key,
    value: r.value as string,
    ingestedAt: T0,
    eventTs: T0,
    symbol: "ALL",
  }));

async function silverOf(lake: TempLake): Promise<{ current: string[]; history: string[] }> {
  const current = await lake.query(
    `SELECT * FROM read_parquet('${lake.store.url(`silver/${dataset}/*.parquet`)}') ORDER BY id::INTEGER`,
  );
  const history = await lake.query(
    `SELECT * FROM read_parquet('${lake.store.url(`silver/${dataset}_history/*.parquet`)}') ORDER BY id::INTEGER, valid_from, _lsn`,
  );
  return { current: current.map((r) => JSON.stringify(r)), history: history.map((r) => JSON.stringify(r)) };
}

test(
  `incremental silver over ${TRANSACTIONS} random transactions in interleaved bronze commits equals the source table and a one-run rebuild`,
  async () => {
    const { random } = testRandom("cdc-silver-incremental");
    const { partitions, model } = script(random);
    const incremental = createTempLake();
    const oneShot = createTempLake();
    lakes.push(incremental, oneShot);

    // Incremental: small commits, interleaving the partitions; silver after about half of them.
    const next = partitions.map(() => 0);
    let runs = 0;
    let rebuilds = 0;
    let held = 0;
    for (;;) {
      const open = partitions
        .map((_p, i) => i)
        .filter((i) => (next[i] as number) < (partitions[i] as EncodedRecord[]).length);
      if (open.length === 0) break;
      const p = open[Math.floor(random() * open.length)] as number;
      const from = next[p] as number;
      const n = 1 + Math.floor(random() * 25);
      const chunk = (partitions[p] as EncodedRecord[]).slice(from, from + n);
      next[p] = from + chunk.length;
      await commitBronze(incremental.commitLog, bronze(chunk, p, from), { dataset });
      if (random() < 0.5) {
        const res = await runCdcSilver(incremental.env, table, {
          maxRows: 10 + Math.floor(random() * 60),
          groupKeys: 6,
        });
        runs += 1;
        if (res.rebuilt) rebuilds += 1;
        held += res.pending;
      }
    }
    for (let i = 0; i < 100; i++) {
      const res = await runCdcSilver(incremental.env, table, { maxRows: 50, groupKeys: 6 });
      if (res.filesWritten === 0 && res.events === 0) break;
    }

    const fromTable = await incremental.query(
      `SELECT id, v, n, big FROM read_parquet('${incremental.store.url(`silver/${dataset}/*.parquet`)}') ORDER BY id::INTEGER`,
    );
    const expected = [...model.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, r]) => ({ id: String(id), ...r }));
    expect(fromTable).toEqual(expected);

    for (const [p, records] of partitions.entries())
      await commitBronze(oneShot.commitLog, bronze(records, p, 0), { dataset });
    await runCdcSilver(oneShot.env, table, { groupKeys: 6 });
    const [a, b] = [await silverOf(incremental), await silverOf(oneShot)];
    expect(a.current).toEqual(b.current);
    expect(a.history).toEqual(b.history);
    console.log(
      JSON.stringify({
        transactions: TRANSACTIONS,
        runs,
        rebuilds,
        held_key_change_events: held,
        rows: fromTable.length,
        versions: a.history.length,
      }),
    );
  },
  SOAK ? 900_000 : 120_000,
);
