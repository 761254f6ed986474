import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, DEFAULTS, loadConfig, parseEnvFile } from "./config.ts";

const root = join(import.meta.dir, "..", "..");
const base = { TRIBUTARY_STATE_DIR: "/nonexistent-state" };

describe("config", () => {
  test("defaults give a frozen config with local endpoints", () => {
    const c = loadConfig(base, "/tmp/x");
    expect(c.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(c.lake.uri).toBe("/tmp/x/lake");
    expect(c.console.host).toBe("127.0.0.1");
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.kafka.brokers)).toBe(true);
  });

  test("KAFKA_BROKERS=nonsense:port fails with a message naming the variable, the value and the form", () => {
    expect(() => loadConfig({ ...base, KAFKA_BROKERS: "nonsense:port" })).toThrow(ConfigError);
    try {
      loadConfig({ ...base, KAFKA_BROKERS: "nonsense:port" });
    } catch (err) {
      expect((err as Error).message).toContain(
        'KAFKA_BROKERS="nonsense:port": expected a comma-separated list of host:port pairs',
      );
    }
  });

  test("every bad variable is reported at once", () => {
    try {
      loadConfig({
        ...base,
        LAKE_FLUSH_MS: "soon",
        KRAKEN_SYMBOLS: "btcusd",
        PG_URL: "mysql://x",
        EXPORT_TIME_ZONE: "Mars/Base",
      });
      throw new Error("expected a ConfigError");
    } catch (err) {
      const problems = (err as ConfigError).problems;
      expect(problems.map((p) => p.split("=")[0])).toEqual([
        "PG_URL",
        "LAKE_FLUSH_MS",
        "KRAKEN_SYMBOLS",
        "EXPORT_TIME_ZONE",
      ]);
    }
  });

  test("s3:// lake URIs are kept, local ones resolved", () => {
    expect(loadConfig({ ...base, LAKE_URI: "s3://tributary/lake/" }).lake.uri).toBe("s3://tributary/lake");
    expect(() => loadConfig({ ...base, LAKE_URI: "s3://Bad_Bucket/x" })).toThrow(/LAKE_URI/);
  });

  test(".env.example documents every variable with its default", () => {
    const example = parseEnvFile(readFileSync(join(root, ".env.example"), "utf8"));
    expect(Object.keys(example).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const [key, value] of Object.entries(DEFAULTS)) expect([key, example[key]]).toEqual([key, value]);
  });
});
