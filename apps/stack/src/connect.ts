/**
 * Kafka Connect in standalone mode (the stack's Kafka release) with Debezium's PostgreSQL connector
 * on its classpath, from Maven Central. One worker per state directory: the stack's optional
 * `debezium` service runs one detached; a test file starts its own on a free port and stops it.
 * Connectors are added and removed through the worker's REST API.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QUICK_JVM } from "./jvm.ts";
import { resolveClasspath } from "./maven.ts";
import { StackError, spawnDetached, stopPid, waitFor } from "./proc.ts";
import { log4jProperties } from "./services/kafka.ts";

export const DEBEZIUM_VERSION = "3.6.1.Final";
export const CONNECT_MARKER = "-Dtributary.service=debezium";

export interface ConnectWorkerOptions {
  /** Holds the worker's properties, its offsets file, its log and its pid file. */
  readonly dir: string;
  readonly stateDir: string;
  readonly brokers: readonly string[];
  readonly port: number;
  readonly kafkaVersion: string;
}

const LOG4J = log4jProperties([
  "logger.reflections.name = org.reflections",
  "logger.reflections.level = error",
]);

function workerProperties(opts: ConnectWorkerOptions): string {
  return [
    "# Written by Tributary's stack; regenerated on every start.",
    `bootstrap.servers=${opts.brokers.join(",")}`,
    "key.converter=org.apache.kafka.connect.json.JsonConverter",
    "value.converter=org.apache.kafka.connect.json.JsonConverter",
    `offset.storage.file.filename=${join(opts.dir, "offsets.dat")}`,
    "offset.flush.interval.ms=1000",
    `listeners=http://127.0.0.1:${opts.port}`,
    `rest.advertised.host.name=127.0.0.1`,
    // Debezium's jars sit on the classpath and carry ServiceLoader manifests.
    "plugin.discovery=service_load",
    "",
  ].join("\n");
}

export const connectUrl = (port: number): string => `http://127.0.0.1:${port}`;

/** The worker's command line; resolving the classpath downloads the jars on first use. */
export async function connectCommand(opts: ConnectWorkerOptions): Promise<string[]> {
  mkdirSync(opts.dir, { recursive: true });
  const cp = await resolveClasspath({
    profile: "debezium",
    property: "kafka.version",
    version: opts.kafkaVersion,
    cacheDir: join(opts.stateDir, "maven"),
  });
  const props = join(opts.dir, "worker.properties");
  writeFileSync(props, workerProperties(opts));
  writeFileSync(join(opts.dir, "log4j2.properties"), LOG4J);
  return [
    "java",
    CONNECT_MARKER,
    "-Xms128m",
    "-Xmx512m",
    ...QUICK_JVM,
    `-Dlog4j2.configurationFile=${join(opts.dir, "log4j2.properties")}`,
    "-cp",
    cp,
    "org.apache.kafka.connect.cli.ConnectStandalone",
    props,
  ];
}

/** Ready means the REST API answers and lists Debezium's PostgreSQL connector among its plugins. */
export async function connectReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`${connectUrl(port)}/connector-plugins`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    const plugins = (await res.json()) as { class: string }[];
    return plugins.some((p) => p.class === "io.debezium.connector.postgresql.PostgresConnector");
  } catch {
    return false;
  }
}

/** A worker owned by the caller (tests): started detached, stopped by `stop()`. */
export interface ConnectWorker {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startConnectWorker(
  opts: ConnectWorkerOptions,
  readyTimeoutMs = 120_000,
): Promise<ConnectWorker> {
  const cmd = await connectCommand(opts);
  const pid = spawnDetached({
    cmd,
    logFile: join(opts.dir, "connect.log"),
    pidFile: join(opts.dir, "connect.pid"),
  });
  try {
    await waitFor("Kafka Connect", readyTimeoutMs, () => connectReady(opts.port));
  } catch (err) {
    await stopPid(pid, 5000);
    throw err;
  }
  return { url: connectUrl(opts.port), pid, stop: async () => void (await stopPid(pid, 15_000)) };
}

export interface ConnectorStatus {
  readonly connector: { readonly state: string };
  readonly tasks: readonly { readonly id: number; readonly state: string; readonly trace?: string }[];
}

async function rest(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    headers: { "content-type": "application/json", accept: "application/json" },
    signal: AbortSignal.timeout(30_000),
  });
}

/** Creates or replaces a connector's configuration (idempotent). */
export async function putConnector(
  baseUrl: string,
  name: string,
  config: Readonly<Record<string, string>>,
): Promise<void> {
  const res = await rest(`${baseUrl}/connectors/${encodeURIComponent(name)}/config`, {
    method: "PUT",
    body: JSON.stringify(config),
  });
  if (!res.ok)
    throw new StackError(`Kafka Connect refused connector ${name}: ${res.status} ${await res.text()}`);
}

export async function connectorStatus(baseUrl: string, name: string): Promise<ConnectorStatus | null> {
  const res = await rest(`${baseUrl}/connectors/${encodeURIComponent(name)}/status`);
  if (res.status === 404) return null;
  if (!res.ok) throw new StackError(`Kafka Connect status of ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ConnectorStatus;
}

/** Waits until the connector and its task run; a failed task stops the wait with its trace. */
export async function waitConnectorRunning(baseUrl: string, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await connectorStatus(baseUrl, name).catch(() => null);
    const failed = s?.tasks.find((t) => t.state === "FAILED");
    if (failed) throw new StackError(`connector ${name} failed: ${(failed.trace ?? "").slice(0, 2000)}`);
    if (s?.connector.state === "RUNNING" && s.tasks.length > 0 && s.tasks.every((t) => t.state === "RUNNING"))
      return;
    if (Date.now() > deadline)
      throw new StackError(`connector ${name} was not running within ${timeoutMs} ms`);
    await Bun.sleep(250);
  }
}

export async function deleteConnector(baseUrl: string, name: string): Promise<void> {
  const res = await rest(`${baseUrl}/connectors/${encodeURIComponent(name)}`, { method: "DELETE" });
  if (!res.ok && res.status !== 404)
    throw new StackError(`Kafka Connect could not delete ${name}: ${res.status} ${await res.text()}`);
}
