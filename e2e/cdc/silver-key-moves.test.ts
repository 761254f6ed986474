/**
 * CDC silver and primary-key changes that leave a TOASTed value alone. The envelope (as Debezium's)
 * makes such an update a delete of the old key and a create of the new one at the same LSN, the
 * create carrying the unchanged-TOAST placeholder; the two land in different Kafka partitions, so in
 * different bronze commits and possibly different silver runs, in either order. Silver must give the
 * new key the old key's value in every arrangement (key-moves.ts), and incremental runs must build
 * the same current state and history as one run over all of bronze.
 */
import { afterAll, expect, test } from "bun:test";
import { OID } from "@tributary/ingest/cdc/column-values";
import {
  type EncodedRecord,
  encodeChange,
  encodeSnapshotRead,
  tableShape,
} from "@tributary/ingest/cdc/envelope";
import { type TupleValue, UNCHANGED_TOAST } from "@tributary/ingest/cdc/pgoutput";
import { type CdcSilverResult, runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { type BronzeRecord, commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";

const lakes: TempLake[] = [];
afterAll(() => {
  for (const l of lakes) l.cleanup();
});

const shape = tableShape(
  "public",
  "docs",
  [
    { name: "id", typeOid: OID.int4 },
    { name: "n", typeOid: OID.int4 },
    { name: "big", typeOid: OID.text },
  ],
  ["id"],
);
const ctx = { prefix: "cdc", db: "tributary" };
const table = { schema: "public", table: "docs" };
const dataset = "cdc_public_docs";
const topic = "cdc.public.docs";
const T0 = 1_723_680_000_000_000n;
const PARTITIONS = 3;

/** What the script sends: records per partition, in order, and each partition's next offset. */
const sent: EncodedRecord[][] = Array.from({ length: PARTITIONS }, () => []);
const committed = Array.from({ length: PARTITIONS }, () => 0);
const model = new Map<number, { n: number; big: string }>();
const partitionOf = (id: number) => id % PARTITIONS;
let lsn = 1_000n;

const send = (id: number, records: readonly EncodedRecord[]) => {
  for (const r of records) if (r.value !== null) sent[partitionOf(id)]?.push(r); // tombstones stay out of bronze
};

/** One transaction: its statements get consecutive LSNs and one commit LSN. */
function transaction(body: (pos: () => ReturnType<typeof position>) => void): void {
  const commitLsn = lsn + 100n;
  body(() => position(commitLsn, ++lsn));
  lsn = commitLsn;
}
const position = (commitLsn: bigint, at: bigint) => ({
  xid: Number(commitLsn),
  commitLsn,
  lsn: at,
  commitTimeMicros: T0 + commitLsn,
  totalOrder: 1,
  dataCollectionOrder: 1,
});
const tuple = (id: number, n: number, big: string | null): TupleValue[] => [
  String(id),
  String(n),
  big ?? UNCHANGED_TOAST,
];

/** `UPDATE docs SET id = to[, n = n][, big = big] WHERE id = from`: big null leaves the TOASTed value alone. */
function move(
  pos: () => ReturnType<typeof position>,
  from: number,
  to: number,
  change: { n?: number; big?: string } = {},
) {
  const old = model.get(from);
  if (!old) throw new Error(`no row ${from}`);
  const row = { n: change.n ?? old.n, big: change.big ?? old.big };
  const { records } = encodeChange(
    ctx,
    shape,
    {
      op: "u",
      oldTuple: [String(from), null, null],
      oldKind: "key",
      newTuple: tuple(to, row.n, change.big ?? null),
    },
    pos(),
    T0,
  );
  send(
    from,
    records.filter((r) => r.op === "d"),
  );
  send(
    to,
    records.filter((r) => r.op === "c"),
  );
  model.delete(from);
  model.set(to, row);
}
function insert(pos: () => ReturnType<typeof position>, id: number, n: number, big: string) {
  send(
    id,
    encodeChange(
      ctx,
      shape,
      { op: "c", oldTuple: null, oldKind: null, newTuple: tuple(id, n, big) },
      pos(),
      T0,
    ).records,
  );
  model.set(id, { n, big });
}
/** An update of n alone: the TOASTed value arrives as the placeholder. */
function update(pos: () => ReturnType<typeof position>, id: number, n: number) {
  send(
    id,
    encodeChange(
      ctx,
      shape,
      { op: "u", oldTuple: null, oldKind: null, newTuple: tuple(id, n, null) },
      pos(),
      T0,
    ).records,
  );
  model.set(id, { n, big: model.get(id)?.big as string });
}
function remove(pos: () => ReturnType<typeof position>, id: number) {
  const change = {
    op: "d" as const,
    oldTuple: [String(id), null, null],
    oldKind: "key" as const,
    newTuple: null,
  };
  send(id, encodeChange(ctx, shape, change, pos(), T0).records);
  model.delete(id);
}

const bronze = (p: number, records: readonly EncodedRecord[], first: number): BronzeRecord[] =>
  records.map((r, i) => ({
    topic,
    partition: p,
    offset: first + i,
    key: r.key,
    value: r.value as string,
    ingestedAt: T0,
    eventTs: T0,
    symbol: "ALL",
  }));

const lake = createTempLake();
lakes.push(lake);

/** Lands what `partitions` received since their last commit (one bronze commit each), then runs silver. */
async function land(partitions: readonly number[] = [0, 1, 2]): Promise<CdcSilverResult> {
  for (const p of partitions) {
    const records = (sent[p] as EncodedRecord[]).slice(committed[p]);
    if (records.length === 0) continue;
    await commitBronze(lake.commitLog, bronze(p, records, committed[p] as number), { dataset });
    committed[p] = (sent[p] as EncodedRecord[]).length;
  }
  return await runCdcSilver(lake.env, table, { groupKeys: 4 });
}

async function current(l: TempLake = lake): Promise<Record<string, string>> {
  const rows = await l.query(
    `SELECT id, n, big FROM read_parquet('${l.store.url(`silver/${dataset}/*.parquet`)}') ORDER BY id::INTEGER`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.id), `${r.n}|${r.big}`]));
}
const expected = () =>
  Object.fromEntries([...model].sort(([a], [b]) => a - b).map(([id, r]) => [String(id), `${r.n}|${r.big}`]));

test("a key change that leaves a TOASTed value alone gives the new key the old key's value, in the same run or across runs, in either order, along chains", async () => {
  const cp = ++lsn;
  for (let id = 1; id <= 9; id++) {
    model.set(id, { n: id, big: `B${id}-${"x".repeat(50)}` });
    send(id, [
      encodeSnapshotRead(
        ctx,
        shape,
        tuple(id, id, model.get(id)?.big as string),
        { consistentPoint: cp, startedMicros: T0, marker: "true" },
        T0,
      ),
    ]);
  }
  lsn += 10n;
  expect(await land()).toMatchObject({ rows: 9, pending: 0 });
  expect(await current()).toEqual(expected());

  // Same run: an insert and its key change; a snapshot row's key change.
  transaction((pos) => {
    insert(pos, 30, 30, "B30");
    move(pos, 30, 31);
    move(pos, 1, 11);
  });
  expect(await land()).toMatchObject({ pending: 0 });
  expect(await current()).toEqual(expected());

  // The delete and the create in the same partition.
  transaction((pos) => move(pos, 2, 41)); // both in partition 2
  expect(await land()).toMatchObject({ pending: 0 });
  expect(await current()).toEqual(expected());

  // The create lands a run before the delete: held back, then folded with it.
  transaction((pos) => move(pos, 3, 13)); // delete: partition 0, create: partition 1
  let run = await land([1]);
  expect(run.pending).toBe(1);
  expect(Object.keys(await current())).toContain("3");
  expect(Object.keys(await current())).not.toContain("13");
  expect(await land([0])).toMatchObject({ pending: 0 });
  expect(await current()).toEqual(expected());

  // The delete lands a run before the create: the old key's stored state has its last row.
  transaction((pos) => move(pos, 4, 14)); // delete: partition 1, create: partition 2
  expect(await land([1])).toMatchObject({ pending: 0 });
  expect(await land([2])).toMatchObject({ pending: 0 });
  expect(await current()).toEqual(expected());

  // The delete lands first and its key is used again before the create lands: the departed row has it.
  transaction((pos) => move(pos, 7, 17)); // delete: partition 1, create: partition 2
  transaction((pos) => insert(pos, 7, 70, "NEW7"));
  transaction((pos) => update(pos, 7, 71));
  expect(await land([1])).toMatchObject({ pending: 0 });
  expect(await land([2])).toMatchObject({ pending: 0 });
  expect(await current()).toEqual(expected());

  // A chain in one transaction, 5 → 15 → 25, each link's delete and create in different partitions;
  // the last create lands first, then the middle, then the first delete.
  transaction((pos) => {
    move(pos, 5, 15); // delete: partition 2, create: partition 0
    move(pos, 15, 25); // delete: partition 0, create: partition 1
  });
  expect((await land([1])).pending).toBe(1);
  expect((await land([0])).pending).toBe(3);
  expect(await land([2])).toMatchObject({ pending: 0 });
  expect(await current()).toEqual(expected());

  // A key change then a delete of the new key; a key change then an update leaving the value alone;
  // a key change that rewrites the value (the new one wins), then an update; a key moved again in a
  // later run (11 got 1's value by a key change).
  transaction((pos) => move(pos, 6, 16));
  transaction((pos) => remove(pos, 16));
  transaction((pos) => {
    move(pos, 8, 18, { n: 80 });
    update(pos, 18, 81);
  });
  transaction((pos) => move(pos, 9, 19, { big: "NEW9" }));
  transaction((pos) => update(pos, 19, 90));
  transaction((pos) => move(pos, 11, 21));
  run = await land([2]);
  run = await land([0, 1]);
  expect(run.pending).toBe(0);
  expect(await current()).toEqual(expected());
  expect(await current()).toMatchObject({ "21": `1|${model.get(21)?.big}`, "25": `5|${model.get(25)?.big}` });
  expect(model.get(21)?.big).toStartWith("B1-");

  // One run over all of bronze builds the same current state and history.
  const oneShot = createTempLake();
  lakes.push(oneShot);
  for (const [p, records] of sent.entries())
    await commitBronze(oneShot.commitLog, bronze(p, records, 0), { dataset });
  await runCdcSilver(oneShot.env, table, { groupKeys: 4 });
  expect(await current(oneShot)).toEqual(expected());
  const history = async (l: TempLake) =>
    (
      await l.query(
        `SELECT * FROM read_parquet('${l.store.url(`silver/${dataset}_history/*.parquet`)}') ORDER BY id::INTEGER, valid_from, _lsn`,
      )
    ).map((r) => JSON.stringify(r));
  expect(await history(lake)).toEqual(await history(oneShot));
}, 60_000);
