import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { freePort } from "@tributary/shared/net/ports";
import { uniqueName } from "@tributary/shared/testing/names";
import { SQL } from "bun";
import { debeziumService, STACK_CONNECTOR } from "./debezium.ts";

// The optional `debezium` service exactly as `bun run stack up debezium` starts it, but in a private
// state dir, on a free port, with its own table, slot and topic prefix: one Kafka Connect JVM.
const base = loadConfig();
const stateDir = mkdtempSync(join(tmpdir(), "tributary-debezium-"));
const schema = uniqueName("dbz");
const slot = uniqueName("dbzslot");
const prefix = uniqueName("dbzp");
const config = loadConfig({
  ...process.env,
  // Maven's resolved classpath is shared with the stack's state dir; the worker's files are private.
  STACK_CONNECT_PORT: String(freePort()),
  CDC_TABLES: `${schema}.quotes`,
  DEBEZIUM_SLOT: slot,
  DEBEZIUM_TOPIC_PREFIX: prefix,
});
const ctx = { config, dir: join(stateDir, "debezium"), say: () => undefined };
let sql: SQL;

beforeAll(async () => {
  sql = new SQL(config.postgres.url);
  await sql.unsafe(`CREATE SCHEMA ${schema}`);
  await sql.unsafe(`CREATE TABLE ${schema}.quotes (id int PRIMARY KEY, price numeric(18,2))`);
  await sql.unsafe(`INSERT INTO ${schema}.quotes VALUES (1, 4154.13)`);
});

afterAll(async () => {
  await debeziumService.stop(ctx);
  await sql
    .unsafe("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [
      slot,
    ])
    .catch(() => undefined);
  await sql.unsafe(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await sql.close();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe("stack service debezium", () => {
  test("runs Debezium's PostgreSQL connector on CDC_TABLES with Tributary's envelope settings", async () => {
    expect(base.stack.services).not.toContain("debezium"); // optional: not started by a plain `stack up`
    await debeziumService.start(ctx);
    const status = await debeziumService.status(ctx);
    expect(status.state).toBe("up");
    const res = await fetch(
      `http://127.0.0.1:${config.stack.connectPort}/connectors/${STACK_CONNECTOR}/config`,
    );
    const connector = (await res.json()) as Record<string, string>;
    expect(connector["decimal.handling.mode"]).toBe(config.cdc.envelope.decimalHandlingMode);
    expect(connector["table.include.list"]).toBe(`${schema}\\.quotes`);

    // The snapshot row arrives on Debezium's topic with the price as an exact decimal string.
    const consumer = createKafka(config.kafka, "dbz-service-test").consumer({ groupId: uniqueName("g") });
    await consumer.connect();
    try {
      const topic = `${prefix}.${schema}.quotes`;
      const admin = createKafka(config.kafka, "dbz-probe").admin();
      await admin.connect();
      for (let i = 0; i < 100 && !(await admin.listTopics()).includes(topic); i++) await Bun.sleep(300);
      await admin.disconnect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const value = await new Promise<Record<string, unknown>>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => resolve(JSON.parse(String(message.value))),
        });
      });
      expect(value.op).toBe("r");
      expect(value.after).toEqual({ id: 1, price: "4154.13" });
    } finally {
      await consumer.disconnect();
    }
    await debeziumService.stop(ctx);
    expect((await debeziumService.status(ctx)).state).toBe("down");
  }, 180_000);
});
