import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cdcOrderOf, compareCdcOrder, UNAVAILABLE_VALUE } from "@tributary/shared/contracts/cdc";
import { OID } from "./column-values.ts";
import {
  type EncodedRecord,
  encodeChange,
  encodeSnapshotRead,
  type TableShape,
  tableShape,
} from "./envelope.ts";
import { UNCHANGED_TOAST } from "./pgoutput.ts";

const docs = JSON.parse(
  readFileSync(join(import.meta.dir, "golden/debezium-postgresql-docs.golden.json"), "utf8"),
);
const GOLDEN = join(import.meta.dir, "golden/envelope.golden.json");

// The documentation's `customers` table and connector (topic.prefix PostgreSQL_server, database postgres).
const customers: TableShape = tableShape(
  "public",
  "customers",
  [
    { name: "id", typeOid: OID.int4 },
    { name: "first_name", typeOid: OID.varchar },
    { name: "last_name", typeOid: OID.varchar },
    { name: "email", typeOid: OID.varchar },
  ],
  ["id"],
);
const ctx = { prefix: "PostgreSQL_server", db: "postgres" };
const anne = ["1", "Anne", "Kretchmar", "annek@noanswer.org"];
const anneMarie = ["1", "Anne Marie", "Kretchmar", "annek@noanswer.org"];

function pos(xid: number, commitLsn: bigint, lsn: bigint, commitTimeMicros: bigint) {
  return { xid, commitLsn, lsn, commitTimeMicros, totalOrder: 1, dataCollectionOrder: 1 };
}

const ours: Record<"r" | "c" | "u" | "d", EncodedRecord> = {
  r: encodeSnapshotRead(
    ctx,
    customers,
    anne,
    { consistentPoint: 24023128n, startedMicros: 1559033904863123n, marker: "true" },
    1559033904863841n,
  ),
  c: encodeChange(
    ctx,
    customers,
    { op: "c", oldTuple: null, oldKind: null, newTuple: anne },
    pos(555, 24023200n, 24023128n, 1559033904863123n),
    1559033904863841n,
  ).records[0] as EncodedRecord,
  u: encodeChange(
    ctx,
    customers,
    { op: "u", oldTuple: null, oldKind: null, newTuple: anneMarie },
    pos(556, 24023300n, 24023128n, 1559033904863769n),
    1465584025523514n,
  ).records[0] as EncodedRecord,
  d: encodeChange(
    ctx,
    customers,
    { op: "d", oldTuple: ["1", null, null, null], oldKind: "key", newTuple: null },
    pos(556, 46523200n, 46523128n, 1559033904863852n),
    1465581902461496n,
  ).records[0] as EncodedRecord,
};

type Json = Record<string, unknown>;

/**
 * Our envelope with the documented deviations (docs/cdc.md "Envelope") mapped onto the documented
 * example, after asserting each one is what we say it is. Anything else must be identical.
 */
function asDocumented(value: string, documented: Json): Json {
  const env = JSON.parse(value) as Json;
  const source = env.source as Json;
  const docSource = documented.source as Json;
  // version: we are not Debezium.
  expect(source.version).toBe("tributary-cdc-2");
  source.version = docSource.version;
  // snapshot: the connector writes a string enum; the documentation prints a boolean.
  expect(["first", "first_in_data_collection", "true", "last_in_data_collection", "last", "false"]).toContain(
    source.snapshot as string,
  );
  expect(source.snapshot === "false").toBe(env.op !== "r");
  source.snapshot = docSource.snapshot;
  // sequence: [commit LSN of the event's own transaction (null for reads), LSN] — ours is stable across restarts.
  const [commit, lsn] = JSON.parse(source.sequence as string) as [string | null, string];
  expect(lsn).toBe(String(source.lsn));
  expect(commit === null).toBe(env.op === "r");
  if ("sequence" in docSource) source.sequence = docSource.sequence;
  else delete source.sequence;
  // ts_ns: µs precision ×1000 (JSON.parse cannot hold either exactly; the raw text is checked below).
  expect(value).toContain(`"ts_ns":${env.ts_us}000`);
  env.ts_ns = documented.ts_ns;
  source.ts_ns = docSource.ts_ns;
  // transaction metadata: always on, in Debezium's enrichment shape.
  if (env.op === "r") expect(env.transaction).toBeNull();
  else {
    const tx = env.transaction as Json;
    expect(Object.keys(tx).sort()).toEqual(Object.keys(docs.transaction_enrichment).sort());
    expect(tx.id).toBe(`${source.txId}:${source.lsn}`);
  }
  delete env.transaction;
  // origin, origin_lsn: written by the connector (null without replication origins), not in the documentation.
  expect([source.origin, source.origin_lsn]).toEqual([null, null]);
  delete source.origin;
  delete source.origin_lsn;
  // before: the real connector (e2e/cdc/debezium.test.ts) writes null for an update under REPLICA IDENTITY
  // DEFAULT and every column for a delete, where the documentation's examples show the key alone.
  if (env.op === "u") {
    expect(env.before).toBeNull();
    env.before = documented.before;
  }
  if (env.op === "d") {
    expect(env.before).toEqual({ id: 1, first_name: null, last_name: null, email: null });
    env.before = documented.before;
  }
  return env;
}

describe("Debezium envelope (schemas disabled)", () => {
  test("a create matches the documented create event", () => {
    expect(asDocumented(ours.c.value as string, docs.create)).toEqual({
      ...docs.create,
      source: { ...docs.create.source },
    });
    expect(ours.c.key).toBe('{"id":1}');
  });

  test("an update matches the documented update event (but before: null, as the connector writes it)", () => {
    expect(asDocumented(ours.u.value as string, docs.update)).toEqual(docs.update);
    expect(ours.u.key).toBe('{"id":1}');
  });

  test("a delete matches the documented delete event (before: every column, the key's values, as the connector writes it)", () => {
    expect(asDocumented(ours.d.value as string, docs.delete)).toEqual(docs.delete);
    expect(ours.d.key).toBe('{"id":1}');
  });

  test("a snapshot read has the create event's structure with op r, no before, no transaction, no txId", () => {
    const read = asDocumented(ours.r.value as string, docs.create);
    expect(read).toEqual({ ...docs.create, op: "r", source: { ...docs.create.source, txId: null } });
  });

  test("the serialized envelopes are pinned byte for byte (UPDATE_GOLDEN=1 rewrites the file)", () => {
    const current = Object.fromEntries(
      Object.entries(ours).map(([op, r]) => [op, { key: r.key, value: r.value }]),
    );
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, `${JSON.stringify(current, null, 2)}\n`);
    expect(current).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")));
  });

  test("a primary-key change becomes a delete of the old key and a create of the new one, with Debezium's headers", () => {
    const { records, dataEvents } = encodeChange(
      ctx,
      customers,
      {
        op: "u",
        oldTuple: ["1", null, null, null],
        oldKind: "key",
        newTuple: ["2", "Anne", "Kretchmar", "annek@noanswer.org"],
      },
      pos(557, 50000100n, 50000000n, 1559033904863123n),
      1559033904863999n,
    );
    expect(records.map((r) => [r.op, r.key, r.headers])).toEqual([
      ["d", '{"id":1}', { "__debezium.newkey": '{"id":2}' }],
      [null, '{"id":1}', { "__debezium.newkey": '{"id":2}' }],
      ["c", '{"id":2}', { "__debezium.oldkey": '{"id":1}' }],
    ]);
    // Two events of the transaction: the create is the next one in total and per-table order.
    expect(dataEvents).toBe(2);
    const order = (i: number) => JSON.parse(records[i]?.value as string).transaction;
    expect([order(0).total_order, order(2).total_order]).toEqual([1, 2]);
    expect([order(0).data_collection_order, order(2).data_collection_order]).toEqual([1, 2]);
  });

  test("an unchanged TOAST value is Debezium's unavailable-value placeholder", () => {
    const [rec] = encodeChange(
      ctx,
      customers,
      { op: "u", oldTuple: null, oldKind: null, newTuple: ["1", UNCHANGED_TOAST, "K", "e"] },
      pos(1, 2n, 1n, 0n),
      0n,
    ).records;
    expect(JSON.parse(rec?.value as string).after.first_name).toBe(UNAVAILABLE_VALUE);
  });

  test("commit order: snapshot reads at their consistent point, then changes by commit LSN and WAL position", () => {
    const order = (r: EncodedRecord) => cdcOrderOf(JSON.parse(r.value as string).source);
    // c commits at 24023200 with a record at 24023128 — the snapshot's consistent point — yet comes after the read.
    expect(compareCdcOrder(order(ours.r), order(ours.c))).toBe(-1);
    expect(compareCdcOrder(order(ours.c), order(ours.u))).toBe(-1);
    expect(compareCdcOrder(order(ours.u), order(ours.d))).toBe(-1);
    expect(compareCdcOrder(order(ours.d), order(ours.d))).toBe(0);
  });
});
