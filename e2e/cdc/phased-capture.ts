/**
 * Test helper: one CDC capture (its own prefix, slot, publication and state dir) of tables a test has
 * created, driven through phases of SQL. The source runs until the last phase is confirmed; then
 * each table topic's records are read back and split by phase, using the WAL position taken before
 * each phase after the first (a change's own position lies between the positions around its phase).
 * Tombstones are left out (they are for compacted topics). `close()` drops the slot, the publication
 * and the schema, and removes the state dir.
 */
import { expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverWalLsn } from "@tributary/ingest/cdc/catalog";
import { CdcSource } from "@tributary/ingest/cdc/source";
import {
  dropCapture,
  readTopics,
  type TopicRecord,
  waitConfirmed,
} from "@tributary/ingest/cdc/testing/support";
import type { CdcEnvelopeSettings } from "@tributary/shared/cdc/debezium-connector";
import { type Config, loadConfig } from "@tributary/shared/config";
import { cdcOrderOf } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";

export interface PhasedCaptureOptions {
  /** Names the capture's prefix, slot, publication, state dir and logger. */
  readonly label: string;
  /** The PostgreSQL schema holding `tables` (dropped by `close()`). */
  readonly schema: string;
  readonly tables: readonly string[];
  /** Each phase's work (statements, transactions, and whatever the test records after them). */
  readonly phases: readonly (() => Promise<void>)[];
  readonly kafka?: Partial<Config["kafka"]>;
  readonly envelope?: CdcEnvelopeSettings;
}

export interface PhasedCapture {
  /** The records of `table`'s topic, one list per phase. */
  phases(table: string): TopicRecord[][];
  close(): Promise<void>;
}

/** A record's own WAL position, with or without a `{schema, payload}` wrapper. */
function lsnOf(value: string): bigint {
  const parsed = JSON.parse(value) as { source?: unknown; payload?: { source?: unknown } };
  return cdcOrderOf((parsed.payload?.source ?? parsed.source) as Parameters<typeof cdcOrderOf>[0]).lsn;
}

export async function capturePhases(sql: pg.Client, opts: PhasedCaptureOptions): Promise<PhasedCapture> {
  const config = loadConfig();
  const kafka = createKafka(config.kafka, `cdc-${opts.label}-test`);
  const names = {
    prefix: uniqueName(`${opts.label}p`),
    slot: uniqueName(`${opts.label}slot`),
    publication: uniqueName(`${opts.label}pub`),
  };
  const stateDir = mkdtempSync(join(tmpdir(), `tributary-${opts.label}-`));
  const close = async (): Promise<void> => {
    await dropCapture(sql, { ...names, schema: opts.schema });
    rmSync(stateDir, { recursive: true, force: true });
  };
  const source = new CdcSource({
    ...names,
    pgUrl: config.postgres.url,
    kafka,
    kafkaConfig: { ...config.kafka, ...opts.kafka },
    tables: opts.tables.map((t) => `${opts.schema}.${t}`),
    stateDir,
    log: createLogger(`cdc-${opts.label}-test`, "warn"),
    ...(opts.envelope ? { envelope: opts.envelope } : {}),
  });
  const abort = new AbortController();
  const running = source.run(abort.signal);
  const boundaries: bigint[] = [];
  try {
    for (let i = 0; i < 400 && source.metrics.state !== "streaming"; i++) await Bun.sleep(25);
    expect(source.metrics.state).toBe("streaming");
    for (const [i, phase] of opts.phases.entries()) {
      if (i > 0) boundaries.push(await serverWalLsn(sql));
      await phase();
    }
    const target = await waitConfirmed(sql, source.metrics);
    expect(source.metrics.confirmedLsn).toBeGreaterThanOrEqual(target);
  } catch (err) {
    abort.abort();
    await running;
    await close();
    throw err;
  }
  abort.abort();
  await running;
  const topics = new Map(opts.tables.map((t) => [cdcTopic(names.prefix, opts.schema, t), t]));
  const byTable = new Map(opts.tables.map((t) => [t, opts.phases.map((): TopicRecord[] => [])]));
  for (const r of await readTopics(kafka, [...topics.keys()], 20_000, uniqueName("group"))) {
    const table = topics.get(r.topic);
    if (table === undefined || r.value === null) continue;
    const lsn = lsnOf(r.value);
    byTable.get(table)?.[boundaries.filter((b) => b <= lsn).length]?.push(r);
  }
  return { phases: (table) => byTable.get(table) ?? [], close };
}
