/**
 * (Over 400 lines: one declarative table of every variable, its default and its parser; splitting it
 * would scatter the one place a reader looks up a setting.)
 *
 * Configuration, parsed once at the edge. `loadConfig(env)` reads the environment (Bun has already
 * merged `.env`), plus `state/stack.env` that `bun run stack up` writes with generated local
 * credentials, validates every variable, and returns a frozen object. A bad value stops the program
 * with one message per variable naming it, the value and the expected form.
 * Libraries never read `process.env`; they receive the parts of `Config` they need.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { BookDepth } from "./contracts/book.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type StackService = "kafka" | "postgres" | "s3" | "debezium" | "iceberg-rest";

export type ConsoleSource = "ingest" | "cdc" | "lake" | "jobs";

export interface Config {
  readonly stateDir: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly stack: {
    readonly services: readonly StackService[];
    readonly kafkaVersion: string;
    readonly kafkaPort: number;
    readonly kafkaControllerPort: number;
    readonly postgresPort: number;
    readonly s3Port: number;
    /** Kafka Connect's REST port for the optional `debezium` service. */
    readonly connectPort: number;
    /** The optional `iceberg-rest` service's port (Iceberg's reference REST catalog). */
    readonly icebergRestPort: number;
    readonly readyTimeoutMs: number;
    /**
     * `server`: the stack's Kafka broker runs with the JVM's defaults (C2, G1), for a long life;
     * `quick`: C1 only and the serial collector, for a short one (a test's private stack).
     */
    readonly jvm: "server" | "quick";
  };
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly topicPartitions: number;
    readonly replicationFactor: number;
    readonly retentionMs: number;
  };
  readonly postgres: {
    readonly url: string;
  };
  readonly s3: {
    readonly endpoint: string;
    readonly region: string;
    readonly bucket: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  };
  readonly lake: {
    /** `./lake` (resolved to an absolute path) or `s3://bucket/prefix`. */
    readonly uri: string;
    readonly flushMs: number;
    /** How often the bronze writer commits its flushed records to the Iceberg tables (0: never). */
    readonly icebergCommitMs: number;
    /** Snapshot expiry keeps every snapshot younger than this (hours; Iceberg's `history.expire.max-snapshot-age-ms`). */
    readonly icebergSnapshotRetentionH: number;
    /** ... and at least this many of the newest (Iceberg's `history.expire.min-snapshots-to-keep`). */
    readonly icebergSnapshotMinKeep: number;
    /** Orphan-file removal deletes a file under a table only after it was unreferenced this long (hours). */
    readonly icebergOrphanAgeH: number;
    readonly flushRows: number;
    readonly memoryBudgetMb: number;
    readonly consumerGroup: string;
  };
  /** Where the lake's Iceberg tables are registered and committed. */
  readonly iceberg: {
    /** An Iceberg REST catalog (every table registered and committed through it); undefined: the embedded catalog. */
    readonly restUri: string | undefined;
    /** The REST catalog's warehouse (sent to /v1/config; the stack's catalog puts tables others create there). */
    readonly restWarehouse: string;
    /** Bearer token for the REST catalog (the stack's catalog requires it when set). */
    readonly restToken: string | undefined;
  };
  readonly kraken: {
    readonly restUrl: string;
    readonly wsUrl: string;
    readonly symbols: readonly string[];
    readonly mode: "stream" | "poll";
    readonly pollCron: string;
    /** croner pattern of the OHLC fetch (Kraken's 1-minute candles → `kraken.ohlc`). */
    readonly ohlcCron: string;
    /** Depth of the WS v2 `book` subscription (→ `kraken.book`); undefined: no book (`off`). */
    readonly bookDepth: BookDepth | undefined;
  };
  readonly cdc: {
    readonly topicPrefix: string;
    readonly slot: string;
    readonly publication: string;
    readonly tables: readonly string[];
    /** The envelope's value encodings, named and valued as Debezium's connector settings. */
    readonly envelope: {
      readonly decimalHandlingMode: "precise" | "string" | "double";
      readonly timePrecisionMode: "adaptive" | "adaptive_time_microseconds" | "connect" | "isostring";
      readonly intervalHandlingMode: "numeric" | "string";
      readonly tombstonesOnDelete: boolean;
      /** Kafka Connect JSON with schemas (`{"schema","payload"}`, Debezium's schemas.enable + column.propagate.source.type). */
      readonly schemas: boolean;
    };
    /** Debezium's `signal.data.collection`: `schema.table` whose inserts signal the source; null: off. */
    readonly signalTable: string | null;
    /** Rows per incremental-snapshot chunk (Debezium's `incremental.snapshot.chunk.size`). */
    readonly incrementalChunkSize: number;
  };
  /** The optional Debezium connector the stack runs beside Tributary's CDC, for comparison. */
  readonly debezium: {
    readonly topicPrefix: string;
    /** Its replication slot; its publication has the same name. */
    readonly slot: string;
  };
  readonly export: {
    readonly dir: string;
    readonly timeZone: string;
    readonly pattern: string;
    readonly graceMinutes: number;
  };
  readonly console: {
    readonly host: string;
    readonly port: number;
    readonly token: string | undefined;
    /** Sources whose /health the overview polls; a listed source that does not answer is down. */
    readonly sources: readonly ConsoleSource[];
    /** How often pages refresh live (the overview, jobs) and how old a cached snapshot may be. */
    readonly refreshMs: number;
    /** A dataset whose newest commit is older than this (seconds, per layer) is stale. */
    readonly staleAfterS: Readonly<Record<"bronze" | "silver" | "gold", number>>;
    readonly queryRowLimit: number;
    readonly queryTimeoutMs: number;
    /** Bytes an answer's JSON rows may take before the query is refused. */
    readonly queryMaxBytes: number;
    /** Megabytes DuckDB may spill under `<stateDir>/console/spill`. */
    readonly querySpillMb: number;
    /** Where the notebook runner writes rendered HTML notebooks. */
    readonly notebooksDir: string;
  };
  readonly scheduler: {
    /** First retry delay; doubles per attempt up to the cap, with jitter. */
    readonly retryBaseMs: number;
    readonly retryCapMs: number;
    /** At most this many missed slots of a `catchUp` job run after downtime (older ones need a backfill). */
    readonly catchUpLimit: number;
    /** Run history older than this is pruned by the `scheduler.prune-history` job. */
    readonly historyDays: number;
  };
  readonly health: {
    /** An app is unhealthy when work has waited this long with no progress (HEALTH_STALL_AFTER_S). */
    readonly stallAfterMs: number;
    /** The ingester is unhealthy when a subscribed book has had no message this long while connected; 0: not checked. */
    readonly bookSilentAfterMs: number;
  };
  readonly ports: {
    readonly ingestMetrics: number;
    readonly lakeMetrics: number;
    readonly cdcMetrics: number;
    /** `/health` and `/metrics` of `bun run jobs start`. */
    readonly jobsMetrics: number;
    readonly simulator: number;
  };
}

/** Defaults, also the documentation source for `.env.example` (a test keeps the two in sync). */
export const DEFAULTS = {
  TRIBUTARY_STATE_DIR: "./state",
  LOG_LEVEL: "info",
  STACK_SERVICES: "kafka,postgres,s3",
  KAFKA_VERSION: "4.3.1",
  STACK_KAFKA_PORT: "9092",
  STACK_KAFKA_CONTROLLER_PORT: "9093",
  STACK_POSTGRES_PORT: "5433",
  STACK_S3_PORT: "9000",
  STACK_CONNECT_PORT: "8083",
  STACK_ICEBERG_REST_PORT: "8181",
  STACK_READY_TIMEOUT_MS: "45000",
  STACK_JVM: "server",
  KAFKA_BROKERS: "127.0.0.1:9092",
  KAFKA_CLIENT_ID: "tributary",
  KAFKA_TOPIC_PARTITIONS: "6",
  KAFKA_REPLICATION_FACTOR: "1",
  KAFKA_RETENTION_MS: "604800000",
  PG_URL: "postgres://tributary@127.0.0.1:5433/tributary",
  S3_ENDPOINT: "http://127.0.0.1:9000",
  S3_REGION: "us-east-1",
  S3_BUCKET: "tributary",
  S3_ACCESS_KEY_ID: "",
  S3_SECRET_ACCESS_KEY: "",
  LAKE_URI: "./lake",
  LAKE_FLUSH_MS: "1000",
  LAKE_ICEBERG_COMMIT_MS: "5000",
  LAKE_ICEBERG_SNAPSHOT_RETENTION_H: "1",
  LAKE_ICEBERG_SNAPSHOT_MIN_KEEP: "10",
  LAKE_ICEBERG_ORPHAN_AGE_H: "1",
  LAKE_FLUSH_ROWS: "100000",
  LAKE_MEMORY_BUDGET_MB: "256",
  LAKE_CONSUMER_GROUP: "tributary-lake",
  ICEBERG_REST_URI: "",
  ICEBERG_REST_WAREHOUSE: "",
  ICEBERG_REST_TOKEN: "",
  KRAKEN_REST_URL: "https://api.kraken.com/0",
  KRAKEN_WS_URL: "wss://ws.kraken.com/v2",
  KRAKEN_SYMBOLS: "BTC/USD,ETH/USD",
  INGEST_MODE: "stream",
  INGEST_POLL_CRON: "*/5 * * * * *",
  KRAKEN_OHLC_CRON: "0 * * * * *",
  KRAKEN_BOOK_DEPTH: "10",
  CDC_TOPIC_PREFIX: "cdc",
  CDC_SLOT: "tributary",
  CDC_PUBLICATION: "tributary",
  CDC_TABLES: "public.tesouro_prices",
  CDC_DECIMAL_HANDLING_MODE: "string",
  CDC_TIME_PRECISION_MODE: "isostring",
  CDC_INTERVAL_HANDLING_MODE: "string",
  CDC_TOMBSTONES_ON_DELETE: "true",
  CDC_SCHEMAS: "off",
  CDC_SIGNAL_TABLE: "off",
  CDC_INCREMENTAL_SNAPSHOT_CHUNK_SIZE: "1024",
  DEBEZIUM_TOPIC_PREFIX: "debezium",
  DEBEZIUM_SLOT: "debezium",
  EXPORT_DIR: "./export",
  EXPORT_TIME_ZONE: "UTC",
  EXPORT_PATTERN: "KRAKEN/{HH}_{DD}_{MM}_{YY}_{SYMBOL}.csv",
  EXPORT_GRACE_MINUTES: "5",
  HEALTH_STALL_AFTER_S: "60",
  HEALTH_BOOK_SILENT_AFTER_S: "900",
  JOBS_METRICS_PORT: "9467",
  CONSOLE_HOST: "127.0.0.1",
  CONSOLE_PORT: "8080",
  CONSOLE_TOKEN: "",
  CONSOLE_SOURCES: "ingest,cdc,lake,jobs",
  CONSOLE_REFRESH_MS: "5000",
  CONSOLE_STALE_AFTER_S: "bronze:600,silver:3600,gold:90000",
  CONSOLE_QUERY_ROW_LIMIT: "10000",
  CONSOLE_QUERY_TIMEOUT_MS: "10000",
  CONSOLE_QUERY_MAX_BYTES: "33554432",
  CONSOLE_QUERY_SPILL_MB: "1024",
  CONSOLE_NOTEBOOKS_DIR: "./apps/notebooks/out",
  SCHEDULER_RETRY_BASE_MS: "1000",
  SCHEDULER_RETRY_CAP_MS: "60000",
  SCHEDULER_CATCHUP_LIMIT: "24",
  SCHEDULER_HISTORY_DAYS: "90",
  INGEST_METRICS_PORT: "9464",
  LAKE_METRICS_PORT: "9465",
  CDC_METRICS_PORT: "9466",
  SIMULATOR_PORT: "8787",
} as const satisfies Record<string, string>;

export type ConfigKey = keyof typeof DEFAULTS;

/** Reads `KEY=value` lines (no interpolation); `#` comments and blank lines skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    }
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(key: ConfigKey): string {
    const v = this.env[key];
    return v === undefined || v === "" ? DEFAULTS[key] : v;
  }

  private fail(key: ConfigKey, value: string, expected: string): void {
    this.problems.push(`${key}=${JSON.stringify(value)}: expected ${expected}`);
  }

  string(key: ConfigKey, pattern?: RegExp, expected?: string): string {
    const v = this.raw(key);
    if (pattern && !pattern.test(v)) this.fail(key, v, expected ?? `a value matching ${pattern}`);
    return v;
  }

  int(key: ConfigKey, min: number, max: number): number {
    const v = this.raw(key);
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.fail(key, v, `an integer from ${min} to ${max}`);
      return min;
    }
    return n;
  }

  port(key: ConfigKey): number {
    return this.int(key, 1, 65535);
  }

  oneOf<T extends string>(key: ConfigKey, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (!(allowed as readonly string[]).includes(v)) {
      this.fail(key, v, `one of ${allowed.join(", ")}`);
      return allowed[0] as T;
    }
    return v as T;
  }

  list(key: ConfigKey, item: RegExp, expected: string, allowEmpty = false): string[] {
    const v = this.raw(key);
    const items = v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if ((!allowEmpty && items.length === 0) || items.some((s) => !item.test(s))) {
      this.fail(key, v, `a comma-separated list of ${expected}`);
    }
    return items;
  }

  url(key: ConfigKey, protocols: readonly string[]): string {
    const v = this.raw(key);
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error("protocol");
    } catch {
      this.fail(key, v, `a URL (${protocols.join(" or ")})`);
    }
    return v;
  }

  hostPorts(key: ConfigKey): string[] {
    return this.list(key, /^[A-Za-z0-9.-]+:(\d{1,5})$/, "host:port pairs (e.g. 127.0.0.1:9092)").filter(
      (hp) => {
        const port = Number(hp.split(":")[1]);
        if (port < 1 || port > 65535) this.fail(key, this.raw(key), "ports from 1 to 65535");
        return true;
      },
    );
  }
}

function readStackEnv(stateDir: string): Record<string, string> {
  const file = join(stateDir, "stack.env");
  return existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
}

function bookDepth(text: "10" | "25" | "100" | "500" | "1000" | "off"): Config["kraken"]["bookDepth"] {
  return text === "off" ? undefined : (Number(text) as BookDepth);
}

const offOr = (text: string): string | null => (text === "off" ? null : text);

/** Builds the frozen configuration from an environment map (normally `process.env`). */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const pre = new Reader(env);
  const stateDir = resolve(cwd, pre.raw("TRIBUTARY_STATE_DIR"));
  // Generated local credentials fill in only what the environment leaves unset.
  const merged: Record<string, string | undefined> = { ...readStackEnv(stateDir) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") merged[k] = v;
  const r = new Reader(merged);

  const symbol = /^[A-Z0-9]{2,10}\/[A-Z0-9]{2,10}$/;
  const lakeUriRaw = r.string(
    "LAKE_URI",
    /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|[^:]+)$/,
    "a local path or s3://bucket/prefix",
  );
  const lakeUri = lakeUriRaw.startsWith("s3://") ? lakeUriRaw.replace(/\/+$/, "") : absolute(cwd, lakeUriRaw);

  const config: Config = {
    stateDir,
    logLevel: r.oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"] as const),
    stack: {
      services: r.list(
        "STACK_SERVICES",
        /^(kafka|postgres|s3|debezium|iceberg-rest)$/,
        "kafka, postgres, s3, debezium, iceberg-rest",
        true,
      ) as StackService[],
      kafkaVersion: r.string("KAFKA_VERSION", /^\d+\.\d+\.\d+$/, "a Kafka version such as 4.1.1"),
      kafkaPort: r.port("STACK_KAFKA_PORT"),
      kafkaControllerPort: r.port("STACK_KAFKA_CONTROLLER_PORT"),
      postgresPort: r.port("STACK_POSTGRES_PORT"),
      s3Port: r.port("STACK_S3_PORT"),
      connectPort: r.port("STACK_CONNECT_PORT"),
      icebergRestPort: r.port("STACK_ICEBERG_REST_PORT"),
      readyTimeoutMs: r.int("STACK_READY_TIMEOUT_MS", 1000, 600_000),
      jvm: r.oneOf("STACK_JVM", ["server", "quick"] as const),
    },
    kafka: {
      brokers: r.hostPorts("KAFKA_BROKERS"),
      clientId: r.string("KAFKA_CLIENT_ID", /^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'"),
      topicPartitions: r.int("KAFKA_TOPIC_PARTITIONS", 1, 1000),
      replicationFactor: r.int("KAFKA_REPLICATION_FACTOR", 1, 10),
      retentionMs: r.int("KAFKA_RETENTION_MS", 60_000, Number.MAX_SAFE_INTEGER),
    },
    postgres: { url: r.url("PG_URL", ["postgres:", "postgresql:"]) },
    s3: {
      endpoint: r.url("S3_ENDPOINT", ["http:", "https:"]),
      region: r.string("S3_REGION", /^[a-z0-9-]+$/, "an AWS region name"),
      bucket: r.string("S3_BUCKET", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name"),
      accessKeyId: r.raw("S3_ACCESS_KEY_ID"),
      secretAccessKey: r.raw("S3_SECRET_ACCESS_KEY"),
    },
    lake: {
      uri: lakeUri,
      flushMs: r.int("LAKE_FLUSH_MS", 10, 3_600_000),
      icebergCommitMs: r.int("LAKE_ICEBERG_COMMIT_MS", 0, 3_600_000),
      icebergSnapshotRetentionH: r.int("LAKE_ICEBERG_SNAPSHOT_RETENTION_H", 0, 87_600),
      icebergSnapshotMinKeep: r.int("LAKE_ICEBERG_SNAPSHOT_MIN_KEEP", 1, 1_000_000),
      icebergOrphanAgeH: r.int("LAKE_ICEBERG_ORPHAN_AGE_H", 1, 87_600),
      flushRows: r.int("LAKE_FLUSH_ROWS", 1, 10_000_000),
      memoryBudgetMb: r.int("LAKE_MEMORY_BUDGET_MB", 16, 65_536),
      consumerGroup: r.string("LAKE_CONSUMER_GROUP", /^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'"),
    },
    iceberg: {
      restUri:
        r.raw("ICEBERG_REST_URI") === ""
          ? undefined
          : r.url("ICEBERG_REST_URI", ["http:", "https:"]).replace(/\/+$/, ""),
      restWarehouse: r.raw("ICEBERG_REST_WAREHOUSE") || `${lakeUri}/_iceberg`,
      restToken: r.raw("ICEBERG_REST_TOKEN") || undefined,
    },
    kraken: {
      restUrl: r.url("KRAKEN_REST_URL", ["http:", "https:"]),
      wsUrl: r.url("KRAKEN_WS_URL", ["ws:", "wss:"]),
      symbols: r.list("KRAKEN_SYMBOLS", symbol, "WS v2 symbols such as BTC/USD"),
      mode: r.oneOf("INGEST_MODE", ["stream", "poll"] as const),
      pollCron: r.string("INGEST_POLL_CRON", /^\S+( \S+){4,5}$/, "a cron pattern with 5 or 6 fields"),
      ohlcCron: r.string("KRAKEN_OHLC_CRON", /^\S+( \S+){4,5}$/, "a cron pattern with 5 or 6 fields"),
      bookDepth: bookDepth(r.oneOf("KRAKEN_BOOK_DEPTH", ["10", "25", "100", "500", "1000", "off"] as const)),
    },
    cdc: {
      topicPrefix: r.string("CDC_TOPIC_PREFIX", /^[A-Za-z0-9_-]+$/, "letters, digits, '_' or '-'"),
      slot: r.string("CDC_SLOT", /^[a-z0-9_]{1,63}$/, "a replication slot name (a-z, 0-9, _)"),
      publication: r.string("CDC_PUBLICATION", /^[a-z0-9_]{1,63}$/, "a publication name (a-z, 0-9, _)"),
      tables: r.list("CDC_TABLES", /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, "schema.table names"),
      envelope: {
        decimalHandlingMode: r.oneOf("CDC_DECIMAL_HANDLING_MODE", ["precise", "string", "double"] as const),
        timePrecisionMode: r.oneOf("CDC_TIME_PRECISION_MODE", [
          "adaptive",
          "adaptive_time_microseconds",
          "connect",
          "isostring",
        ] as const),
        intervalHandlingMode: r.oneOf("CDC_INTERVAL_HANDLING_MODE", ["numeric", "string"] as const),
        tombstonesOnDelete: r.oneOf("CDC_TOMBSTONES_ON_DELETE", ["true", "false"] as const) === "true",
        schemas: r.oneOf("CDC_SCHEMAS", ["on", "off"] as const) === "on",
      },
      signalTable: offOr(
        r.string(
          "CDC_SIGNAL_TABLE",
          /^(off|[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)$/,
          "a schema.table name or off",
        ),
      ),
      incrementalChunkSize: r.int("CDC_INCREMENTAL_SNAPSHOT_CHUNK_SIZE", 1, 1_000_000),
    },
    debezium: {
      topicPrefix: r.string("DEBEZIUM_TOPIC_PREFIX", /^[A-Za-z0-9_-]+$/, "letters, digits, '_' or '-'"),
      slot: r.string("DEBEZIUM_SLOT", /^[a-z0-9_]{1,63}$/, "a replication slot name (a-z, 0-9, _)"),
    },
    export: {
      dir: absolute(cwd, r.raw("EXPORT_DIR")),
      timeZone: r.string("EXPORT_TIME_ZONE", /^[A-Za-z_+\-/0-9]+$/, "an IANA time zone such as UTC"),
      pattern: r.string("EXPORT_PATTERN", /\{SYMBOL\}/, "a path pattern containing {SYMBOL}"),
      graceMinutes: r.int("EXPORT_GRACE_MINUTES", 0, 1440),
    },
    console: {
      host: r.string("CONSOLE_HOST", /^[A-Za-z0-9.:-]+$/, "a host name or IP address"),
      port: r.port("CONSOLE_PORT"),
      token: r.raw("CONSOLE_TOKEN") || undefined,
      sources: r
        .list("CONSOLE_SOURCES", /^(ingest|cdc|lake|jobs|none)$/, "ingest, cdc, lake, jobs (or none)")
        .filter((s) => s !== "none") as ConsoleSource[],
      refreshMs: r.int("CONSOLE_REFRESH_MS", 250, 3_600_000),
      staleAfterS: staleAfter(r),
      queryRowLimit: r.int("CONSOLE_QUERY_ROW_LIMIT", 1, 1_000_000),
      queryTimeoutMs: r.int("CONSOLE_QUERY_TIMEOUT_MS", 100, 600_000),
      queryMaxBytes: r.int("CONSOLE_QUERY_MAX_BYTES", 1024, 1024 * 1024 * 1024),
      querySpillMb: r.int("CONSOLE_QUERY_SPILL_MB", 1, 1024 * 1024),
      notebooksDir: absolute(cwd, r.raw("CONSOLE_NOTEBOOKS_DIR")),
    },
    scheduler: {
      retryBaseMs: r.int("SCHEDULER_RETRY_BASE_MS", 1, 3_600_000),
      retryCapMs: r.int("SCHEDULER_RETRY_CAP_MS", 1, 86_400_000),
      catchUpLimit: r.int("SCHEDULER_CATCHUP_LIMIT", 1, 10_000),
      historyDays: r.int("SCHEDULER_HISTORY_DAYS", 1, 36_500),
    },
    health: {
      stallAfterMs: r.int("HEALTH_STALL_AFTER_S", 1, 86_400) * 1000,
      bookSilentAfterMs: r.int("HEALTH_BOOK_SILENT_AFTER_S", 0, 86_400) * 1000,
    },
    ports: {
      jobsMetrics: r.port("JOBS_METRICS_PORT"),
      ingestMetrics: r.port("INGEST_METRICS_PORT"),
      lakeMetrics: r.port("LAKE_METRICS_PORT"),
      cdcMetrics: r.port("CDC_METRICS_PORT"),
      simulator: r.port("SIMULATOR_PORT"),
    },
  };
  if (config.export.timeZone) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: config.export.timeZone });
    } catch {
      r.problems.push(
        `EXPORT_TIME_ZONE=${JSON.stringify(config.export.timeZone)}: expected an IANA time zone such as UTC`,
      );
    }
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

/** `bronze:600,silver:3600,gold:90000`: every layer once, seconds. */
function staleAfter(r: Reader): Record<"bronze" | "silver" | "gold", number> {
  const items = r.list(
    "CONSOLE_STALE_AFTER_S",
    /^(bronze|silver|gold):\d{1,9}$/,
    "layer:seconds (bronze, silver, gold)",
  );
  const out = { bronze: 600, silver: 3600, gold: 90_000 };
  for (const item of items) {
    const [layer, seconds] = item.split(":") as ["bronze" | "silver" | "gold", string];
    out[layer] = Number(seconds);
  }
  return out;
}

function absolute(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** For CLIs: load or print the problems and exit 2. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
