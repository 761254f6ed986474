/** An S3-compatible server (S3Proxy, filesystem backend, SigV4 on) holding the lake bucket. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { S3Client } from "bun";
import { resolveClasspath } from "../maven.ts";
import {
  ensurePortFree,
  isOurProcess,
  readPid,
  removeFile,
  StackError,
  spawnDetached,
  stopPid,
  waitFor,
} from "../proc.ts";
import type { Service, ServiceStatus } from "./service.ts";

const MARKER = "-Dtributary.service=s3";
const S3PROXY_VERSION = "3.0.0";

/**
 * S3Proxy's Logback configuration. Without one, Logback logs every logger at DEBUG: Jetty's per-request
 * connection traces filled s3proxy.log at ~10 MB a minute under the test suite, and formatting them
 * was over half of S3Proxy's CPU on S3-heavy tests. INFO keeps S3Proxy's own start-up lines and every
 * warning and error, in UTC like the other services' logs.
 */
const S3PROXY_LOGBACK = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>[%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z', UTC}] %level %msg \\(%logger\\)%n</pattern></encoder>
  </appender>
  <logger name="org.gaul.shaded.org.eclipse.jetty" level="WARN"/>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
`;

export function s3Client(config: Config): S3Client {
  return new S3Client({
    endpoint: config.s3.endpoint,
    region: config.s3.region,
    bucket: config.s3.bucket,
    accessKeyId: config.s3.accessKeyId,
    secretAccessKey: config.s3.secretAccessKey,
  });
}

/**
 * The prefix the readiness probe lists: nothing is ever stored under it. S3Proxy's filesystem backend
 * walks every file under the listed prefix whatever `maxKeys` says, so a list of the bucket's root
 * cost ~90 ms of its CPU per thousand files in the bucket, on every probe (each test file's preload).
 */
export const READY_PROBE_PREFIX = ".tributary-ready/";

/** Ready means a signed ListObjectsV2 on the lake bucket succeeds (of a prefix that stays empty). */
export async function s3Ready(config: Config): Promise<boolean> {
  try {
    await s3Client(config).list({ maxKeys: 1, prefix: READY_PROBE_PREFIX });
    return true;
  } catch {
    return false;
  }
}

export const s3Service: Service = {
  name: "s3",
  endpoint: (config) => `${config.s3.endpoint} (bucket ${config.s3.bucket})`,
  logFile: (ctx) => join(ctx.dir, "s3proxy.log"),

  async start(ctx) {
    const { config, dir } = ctx;
    const pidFile = join(dir, "s3proxy.pid");
    if (!config.s3.accessKeyId || !config.s3.secretAccessKey) {
      throw new StackError(
        "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are empty: `bun run stack up` generates them in state/stack.env",
      );
    }
    if (isOurProcess(readPid(pidFile), MARKER)) {
      await waitFor("S3", config.stack.readyTimeoutMs, () => s3Ready(config));
      return;
    }
    await ensurePortFree(config.stack.s3Port, "STACK_S3_PORT and S3_ENDPOINT");
    const dataDir = join(dir, "data");
    // The filesystem backend maps a bucket to a directory: creating it creates the bucket.
    mkdirSync(join(dataDir, config.s3.bucket), { recursive: true });
    const props = join(dir, "s3proxy.properties");
    writeFileSync(
      props,
      [
        `s3proxy.endpoint=http://127.0.0.1:${config.stack.s3Port}`,
        "s3proxy.authorization=aws-v2-or-v4",
        `s3proxy.identity=${config.s3.accessKeyId}`,
        `s3proxy.credential=${config.s3.secretAccessKey}`,
        "jclouds.provider=filesystem-nio2",
        `jclouds.filesystem.basedir=${dataDir}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const logback = join(dir, "logback.xml");
    writeFileSync(logback, S3PROXY_LOGBACK);
    const cp = await resolveClasspath({
      profile: "s3proxy",
      property: "s3proxy.version",
      version: S3PROXY_VERSION,
      cacheDir: join(config.stateDir, "maven"),
    });
    ctx.say(`s3: starting S3Proxy ${S3PROXY_VERSION} on 127.0.0.1:${config.stack.s3Port}`);
    spawnDetached({
      cmd: [
        "java",
        MARKER,
        "-Xmx512m",
        `-Dlogback.configurationFile=${logback}`,
        "-cp",
        cp,
        "org.gaul.s3proxy.Main",
        "--properties",
        props,
      ],
      logFile: this.logFile(ctx),
      pidFile,
    });
    await waitFor("S3", config.stack.readyTimeoutMs, () => s3Ready(config));
  },

  async stop(ctx) {
    const pidFile = join(ctx.dir, "s3proxy.pid");
    const pid = readPid(pidFile);
    if (pid !== undefined && isOurProcess(pid, MARKER)) ctx.say(`s3: ${await stopPid(pid, 10_000)}`);
    removeFile(pidFile);
  },

  async status(ctx): Promise<ServiceStatus> {
    const pid = readPid(join(ctx.dir, "s3proxy.pid"));
    const endpoint = this.endpoint(ctx.config);
    if (!isOurProcess(pid, MARKER)) return { name: "s3", state: "down", endpoint };
    // One failed list under a loaded machine is not a broken S3Proxy: it is "unhealthy" only when
    // three signed lists, half a second apart, all fail (CI saw a single probe fail mid-suite).
    let ready = false;
    for (let attempt = 0; attempt < 3 && !ready; attempt++) {
      if (attempt > 0) await Bun.sleep(500);
      ready = await s3Ready(ctx.config);
    }
    return ready
      ? { name: "s3", state: "up", pid, endpoint }
      : { name: "s3", state: "unhealthy", pid, endpoint, detail: "S3Proxy running but a signed list failed" };
  },
};
