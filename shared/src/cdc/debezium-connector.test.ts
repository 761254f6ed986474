import { describe, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { DEFAULT_ENVELOPE, debeziumConnectorConfig, stackDebeziumConnector } from "./debezium-connector.ts";

describe("Debezium connector configuration", () => {
  test("the envelope defaults in code are the configuration's defaults", () => {
    expect(loadConfig({ TRIBUTARY_STATE_DIR: "/nonexistent" }).cdc.envelope).toEqual(DEFAULT_ENVELOPE);
  });

  test("maps Tributary's CDC settings onto Debezium's names, tables as exact regexes", () => {
    const c = debeziumConnectorConfig({
      pgUrl: "postgres://u%40x:p%23w@db.example:6543/my_db",
      tables: ["public.tesouro_prices", "s.t"],
      topicPrefix: "dbz",
      slot: "dbz_slot",
      envelope: { ...DEFAULT_ENVELOPE, decimalHandlingMode: "precise", tombstonesOnDelete: false },
      topicPartitions: 3,
      replicationFactor: 1,
    });
    expect(c).toMatchObject({
      "database.hostname": "db.example",
      "database.port": "6543",
      "database.user": "u@x",
      "database.password": "p#w",
      "database.dbname": "my_db",
      "table.include.list": "public\\.tesouro_prices,s\\.t",
      "slot.name": "dbz_slot",
      "publication.name": "dbz_slot",
      "decimal.handling.mode": "precise",
      "time.precision.mode": "isostring",
      "interval.handling.mode": "string",
      "tombstones.on.delete": "false",
      "value.converter.schemas.enable": "false",
      "provide.transaction.metadata": "true",
      "skipped.operations": "none",
      "topic.creation.default.partitions": "3",
    });
  });

  test("the stack's connector uses DEBEZIUM_TOPIC_PREFIX and DEBEZIUM_SLOT on CDC_TABLES", () => {
    const config = loadConfig({
      TRIBUTARY_STATE_DIR: "/nonexistent",
      CDC_TABLES: "a.b",
      DEBEZIUM_SLOT: "cmp",
    });
    expect(stackDebeziumConnector(config)).toMatchObject({
      "topic.prefix": "debezium",
      "slot.name": "cmp",
      "table.include.list": "a\\.b",
    });
  });
});
