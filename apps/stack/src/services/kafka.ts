/** Apache Kafka in KRaft mode (broker + controller, one node) in its own JVM, from Maven Central jars. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import "@tributary/shared/kafka";
import { Kafka, logLevel } from "kafkajs";
import { QUICK_JVM } from "../jvm.ts";
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

const MARKER = "-Dtributary.service=kafka";

function serverProperties(config: Config, dataDir: string): string {
  const { kafkaPort, kafkaControllerPort } = config.stack;
  return [
    "# Written by `bun run stack up`; regenerated on every start.",
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${kafkaControllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${dataDir}`,
    "auto.create.topics.enable=false",
    "num.partitions=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=10",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "log.retention.hours=168",
    "",
  ].join("\n");
}

/** Log4j 2 to standard output (the service's log file), UTC timestamps; `extra` adds logger levels. */
export function log4jProperties(extra: readonly string[] = []): string {
  return [
    "status = warn",
    "appender.console.type = Console",
    "appender.console.name = STDOUT",
    "appender.console.layout.type = PatternLayout",
    "appender.console.layout.pattern = [%d{ISO8601}{UTC}Z] %p %m (%c)%n",
    "rootLogger.level = info",
    "rootLogger.appenderRef.stdout.ref = STDOUT",
    ...extra,
    "",
  ].join("\n");
}

const LOG4J = log4jProperties(["logger.state.name = state.change.logger", "logger.state.level = warn"]);

/**
 * A cluster id as `kafka-storage random-uuid` prints it (16 random bytes, URL-safe base64, 22 characters,
 * never starting with "-"), made here to save a JVM start per fresh cluster (each private test stack).
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/** Ready means a metadata request through kafkajs succeeds, as the apps will make it. */
export async function kafkaReady(config: Config): Promise<boolean> {
  const kafka = new Kafka({
    clientId: "tributary-stack",
    brokers: [...config.kafka.brokers],
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.fetchTopicMetadata({ topics: [] });
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export const kafkaService: Service = {
  name: "kafka",
  endpoint: (config) => config.kafka.brokers.join(","),
  logFile: (ctx) => join(ctx.dir, "kafka.log"),

  async start(ctx) {
    const { config, dir } = ctx;
    const pidFile = join(dir, "kafka.pid");
    if (isOurProcess(readPid(pidFile), MARKER)) {
      await waitFor("Kafka", config.stack.readyTimeoutMs, () => kafkaReady(config));
      return;
    }
    await ensurePortFree(config.stack.kafkaPort, "STACK_KAFKA_PORT and KAFKA_BROKERS");
    const dataDir = join(dir, "data");
    mkdirSync(dataDir, { recursive: true });
    const cp = await resolveClasspath({
      profile: "kafka",
      property: "kafka.version",
      version: config.stack.kafkaVersion,
      cacheDir: join(config.stateDir, "maven"),
    });
    const props = join(dir, "server.properties");
    writeFileSync(props, serverProperties(config, dataDir));
    writeFileSync(join(dir, "log4j2.properties"), LOG4J);
    const java = ["java", `-Dlog4j2.configurationFile=${join(dir, "log4j2.properties")}`, "-cp", cp];
    if (!existsSync(join(dataDir, "meta.properties"))) {
      const idFile = join(dir, "cluster.id");
      if (!existsSync(idFile)) {
        writeFileSync(idFile, `${kafkaClusterId()}\n`);
      }
      const clusterId = readFileSync(idFile, "utf8").trim();
      ctx.say(`kafka: formatting storage (cluster ${clusterId})`);
      const fmt = Bun.spawnSync([
        java[0] as string,
        ...QUICK_JVM,
        ...java.slice(1),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        clusterId,
        "-c",
        props,
        "--ignore-formatted",
      ]);
      if (fmt.exitCode !== 0)
        throw new StackError(`kafka storage format failed: ${fmt.stderr.toString().slice(-500)}`);
    }
    ctx.say(`kafka: starting ${config.stack.kafkaVersion} on 127.0.0.1:${config.stack.kafkaPort}`);
    spawnDetached({
      cmd: [
        java[0] as string,
        MARKER,
        "-Xms256m",
        "-Xmx1g",
        ...(config.stack.jvm === "quick" ? QUICK_JVM : ["-XX:+UseG1GC"]),
        ...java.slice(1),
        "kafka.Kafka",
        props,
      ],
      logFile: this.logFile(ctx),
      pidFile,
    });
    await waitFor("Kafka", config.stack.readyTimeoutMs, () => kafkaReady(config));
  },

  async stop(ctx) {
    const pidFile = join(ctx.dir, "kafka.pid");
    const pid = readPid(pidFile);
    if (pid !== undefined && isOurProcess(pid, MARKER)) {
      const how = await stopPid(pid, 20_000);
      ctx.say(`kafka: ${how}`);
    }
    removeFile(pidFile);
  },

  async status(ctx): Promise<ServiceStatus> {
    const pid = readPid(join(ctx.dir, "kafka.pid"));
    const endpoint = this.endpoint(ctx.config);
    if (!isOurProcess(pid, MARKER)) return { name: "kafka", state: "down", endpoint };
    const ready = await kafkaReady(ctx.config);
    return ready
      ? { name: "kafka", state: "up", pid, endpoint }
      : {
          name: "kafka",
          state: "unhealthy",
          pid,
          endpoint,
          detail: "JVM running but metadata request failed",
        };
  },
};
