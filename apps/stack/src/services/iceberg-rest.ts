/**
 * Optional: Apache Iceberg's reference REST catalog (the REST servlet and catalog adapter of Iceberg's
 * own test fixtures, over a JDBC catalog in SQLite under the state dir), run natively from Maven
 * Central by our launcher `IcebergRestCatalog.java`, which binds 127.0.0.1 (Iceberg's
 * `RESTCatalogServer` binds every interface). iceberg-open-api is published up to 1.11.0, so the
 * catalog runs 1.11.0. Reads and writes metadata on local disk and on the stack's S3.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { QUICK_JVM } from "../jvm.ts";
import { resolveClasspath } from "../maven.ts";
import {
  ensurePortFree,
  isOurProcess,
  readPid,
  removeFile,
  spawnDetached,
  stopPid,
  waitFor,
} from "../proc.ts";
import type { Service, ServiceStatus } from "./service.ts";

export const ICEBERG_REST_VERSION = "1.11.0";
const MARKER = "-Dtributary.service=iceberg-rest";

export function icebergRestClasspath(stateDir: string): Promise<string> {
  return resolveClasspath({
    profile: "iceberg-rest",
    property: "iceberg.rest.version",
    version: ICEBERG_REST_VERSION,
    cacheDir: join(stateDir, "maven"),
  });
}

export function icebergRestUrl(config: Pick<Config, "stack">): string {
  return `http://127.0.0.1:${config.stack.icebergRestPort}`;
}

/** Ready means an authorised GET /v1/config answers 200. */
export async function icebergRestReady(config: Pick<Config, "stack" | "iceberg">): Promise<boolean> {
  try {
    const token = config.iceberg.restToken;
    const res = await fetch(`${icebergRestUrl(config)}/v1/config`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(2000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The launcher's settings: the backend catalog's properties plus `tributary.*` (port, token). */
function catalogProperties(config: Config, dir: string): string {
  const props: Record<string, string> = {
    "tributary.host": "127.0.0.1",
    "tributary.port": String(config.stack.icebergRestPort),
    "tributary.token": config.iceberg.restToken ?? "",
    "catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
    uri: `jdbc:sqlite:${join(dir, "catalog.db")}`,
    "jdbc.schema-version": "V1",
    // Passed to SQLite's driver: wait for a writer instead of failing a concurrent commit.
    "jdbc.busy_timeout": "10000",
    warehouse: config.iceberg.restWarehouse,
    "io-impl": "org.apache.iceberg.io.ResolvingFileIO",
    "s3.endpoint": config.s3.endpoint,
    "s3.path-style-access": "true",
    "client.region": config.s3.region,
  };
  if (config.s3.accessKeyId) props["s3.access-key-id"] = config.s3.accessKeyId;
  if (config.s3.secretAccessKey) props["s3.secret-access-key"] = config.s3.secretAccessKey;
  // java.util.Properties syntax: escape what it treats specially.
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/([:=#!])/g, "\\$1");
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${esc(v)}`)
    .join("\n")}\n`;
}

export const icebergRestService: Service = {
  name: "iceberg-rest",
  endpoint: (config) => `${icebergRestUrl(config)} (warehouse ${config.iceberg.restWarehouse})`,
  logFile: (ctx) => join(ctx.dir, "iceberg-rest.log"),

  async start(ctx) {
    const { config, dir } = ctx;
    const pidFile = join(dir, "iceberg-rest.pid");
    const port = config.stack.icebergRestPort;
    if (!isOurProcess(readPid(pidFile), MARKER)) {
      await ensurePortFree(port, "STACK_ICEBERG_REST_PORT");
      mkdirSync(dir, { recursive: true });
      const props = join(dir, "catalog.properties");
      writeFileSync(props, catalogProperties(config, dir), { mode: 0o600 });
      const cp = await icebergRestClasspath(config.stateDir);
      ctx.say(`iceberg-rest: starting Iceberg ${ICEBERG_REST_VERSION} REST catalog on 127.0.0.1:${port}`);
      spawnDetached({
        cmd: [
          "java",
          MARKER,
          "-Xmx256m",
          ...QUICK_JVM,
          // The servlet logs every error answer (each 404 of a table not created yet) with a stack trace.
          "-Dorg.slf4j.simpleLogger.log.org.apache.iceberg.rest.RESTCatalogServlet=off",
          // The AWS SDK's default checksums (trailing CRCs, x-amz-checksum-mode) are not S3Proxy's: only when required.
          "-Daws.requestChecksumCalculation=WHEN_REQUIRED",
          "-Daws.responseChecksumValidation=WHEN_REQUIRED",
          "-cp",
          cp,
          join(import.meta.dir, "IcebergRestCatalog.java"),
          props,
        ],
        logFile: this.logFile(ctx),
        pidFile,
      });
    }
    await waitFor("Iceberg REST catalog", Math.max(config.stack.readyTimeoutMs, 60_000), () =>
      icebergRestReady(config),
    );
  },

  async stop(ctx) {
    const pidFile = join(ctx.dir, "iceberg-rest.pid");
    const pid = readPid(pidFile);
    if (pid !== undefined && isOurProcess(pid, MARKER))
      ctx.say(`iceberg-rest: ${await stopPid(pid, 10_000)}`);
    removeFile(pidFile);
  },

  async status(ctx): Promise<ServiceStatus> {
    const pid = readPid(join(ctx.dir, "iceberg-rest.pid"));
    const endpoint = this.endpoint(ctx.config);
    if (!isOurProcess(pid, MARKER)) return { name: "iceberg-rest", state: "down", endpoint };
    return (await icebergRestReady(ctx.config))
      ? { name: "iceberg-rest", state: "up", pid, endpoint }
      : {
          name: "iceberg-rest",
          state: "unhealthy",
          pid,
          endpoint,
          detail: "running, but GET /v1/config did not answer 200",
        };
  },
};
