import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS } from "@tributary/shared/config";

// docker-compose.yml cannot run here (no Docker engine): check it against the config defaults instead.
const root = join(import.meta.dir, "..", "..", "..");
type Service = {
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, unknown>;
};
const compose = Bun.YAML.parse(readFileSync(join(root, "docker-compose.yml"), "utf8")) as {
  services: Record<string, Service>;
};
const hostPort = (svc: string) =>
  compose.services[svc]?.ports?.map((p) => p.split(":").slice(0, 2).join(":"));

describe("docker-compose.yml", () => {
  test("has the stack and the apps", () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      "cdc",
      "console",
      "debezium",
      "debezium-connector",
      "iceberg-rest",
      "ingest",
      "kafka",
      "lake",
      "minio",
      "minio-bucket",
      "postgres",
    ]);
  });

  test("publishes the same host ports as the native stack, on 127.0.0.1 only", () => {
    expect(hostPort("kafka")).toEqual([`127.0.0.1:${DEFAULTS.STACK_KAFKA_PORT}`]);
    expect(hostPort("postgres")).toEqual([`127.0.0.1:${DEFAULTS.STACK_POSTGRES_PORT}`]);
    expect(hostPort("minio")).toEqual([`127.0.0.1:${DEFAULTS.STACK_S3_PORT}`]);
    expect(hostPort("console")).toEqual([`127.0.0.1:${DEFAULTS.CONSOLE_PORT}`]);
    expect(hostPort("debezium")).toEqual([`127.0.0.1:${DEFAULTS.STACK_CONNECT_PORT}`]);
    expect(hostPort("iceberg-rest")).toEqual([`127.0.0.1:${DEFAULTS.STACK_ICEBERG_REST_PORT}`]);
    expect(DEFAULTS.KAFKA_BROKERS).toBe(`127.0.0.1:${DEFAULTS.STACK_KAFKA_PORT}`);
    expect(DEFAULTS.PG_URL).toContain(`127.0.0.1:${DEFAULTS.STACK_POSTGRES_PORT}/`);
    expect(DEFAULTS.S3_ENDPOINT).toBe(`http://127.0.0.1:${DEFAULTS.STACK_S3_PORT}`);
  });

  test("runs the same Kafka release in KRaft mode with auto-create off, and PostgreSQL with wal_level=logical", () => {
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${DEFAULTS.KAFKA_VERSION}`);
    expect(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(compose.services.kafka?.environment?.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe("false");
    expect(compose.services.postgres?.command).toContain("wal_level=logical");
  });

  test("runs the same Debezium release as the native stack's optional service", async () => {
    const { DEBEZIUM_VERSION } = await import("./connect.ts");
    expect(compose.services.debezium?.image).toBe(`quay.io/debezium/connect:${DEBEZIUM_VERSION}`);
  });

  test("runs the same Iceberg REST catalog release as the native stack's optional service", async () => {
    const { ICEBERG_REST_VERSION } = await import("./services/iceberg-rest.ts");
    expect(compose.services["iceberg-rest"]?.image).toBe(
      `apache/iceberg-rest-fixture:${ICEBERG_REST_VERSION}`,
    );
  });

  test("apps use only variable names the config knows", () => {
    for (const name of ["ingest", "cdc", "lake", "console", "debezium-connector"]) {
      const env = compose.services[name]?.environment ?? {};
      for (const key of Object.keys(env)) expect(Object.keys(DEFAULTS)).toContain(key);
    }
  });
});
