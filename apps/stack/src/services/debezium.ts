/**
 * Optional: Kafka Connect (standalone) running Debezium's PostgreSQL connector on Tributary's CDC
 * tables and settings, under its own topic prefix and slot, so both tools' topics can be compared.
 * Not in the default STACK_SERVICES; `bun run stack up debezium` starts it after Kafka and PostgreSQL.
 */
import { join } from "node:path";
import { stackDebeziumConnector } from "@tributary/shared/cdc/debezium-connector";
import {
  CONNECT_MARKER,
  connectCommand,
  connectorStatus,
  connectReady,
  connectUrl,
  DEBEZIUM_VERSION,
  putConnector,
  waitConnectorRunning,
} from "../connect.ts";
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

/** The connector's name on the worker. */
export const STACK_CONNECTOR = "tributary-debezium";

export const debeziumService: Service = {
  name: "debezium",
  endpoint: (config) => `${connectUrl(config.stack.connectPort)} (topics ${config.debezium.topicPrefix}.*)`,
  logFile: (ctx) => join(ctx.dir, "connect.log"),

  async start(ctx) {
    const { config, dir } = ctx;
    const pidFile = join(dir, "connect.pid");
    const port = config.stack.connectPort;
    if (!isOurProcess(readPid(pidFile), CONNECT_MARKER)) {
      await ensurePortFree(port, "STACK_CONNECT_PORT");
      const cmd = await connectCommand({
        dir,
        stateDir: config.stateDir,
        brokers: config.kafka.brokers,
        port,
        kafkaVersion: config.stack.kafkaVersion,
      });
      ctx.say(
        `debezium: starting Kafka Connect ${config.stack.kafkaVersion} + Debezium ${DEBEZIUM_VERSION} on 127.0.0.1:${port}`,
      );
      spawnDetached({ cmd, logFile: this.logFile(ctx), pidFile });
    }
    await waitFor("Kafka Connect", Math.max(config.stack.readyTimeoutMs, 120_000), () => connectReady(port));
    await putConnector(connectUrl(port), STACK_CONNECTOR, stackDebeziumConnector(config));
    await waitConnectorRunning(connectUrl(port), STACK_CONNECTOR, config.stack.readyTimeoutMs);
  },

  async stop(ctx) {
    const pidFile = join(ctx.dir, "connect.pid");
    const pid = readPid(pidFile);
    if (pid !== undefined && isOurProcess(pid, CONNECT_MARKER))
      ctx.say(`debezium: ${await stopPid(pid, 15_000)}`);
    removeFile(pidFile);
  },

  async status(ctx): Promise<ServiceStatus> {
    const pid = readPid(join(ctx.dir, "connect.pid"));
    const endpoint = this.endpoint(ctx.config);
    if (!isOurProcess(pid, CONNECT_MARKER)) return { name: "debezium", state: "down", endpoint };
    const s = await connectorStatus(connectUrl(ctx.config.stack.connectPort), STACK_CONNECTOR).catch(
      () => null,
    );
    const running = s?.connector.state === "RUNNING" && s.tasks.every((t) => t.state === "RUNNING");
    return running
      ? { name: "debezium", state: "up", pid, endpoint }
      : {
          name: "debezium",
          state: "unhealthy",
          pid,
          endpoint,
          detail: `connector ${s?.connector.state ?? "missing"}`,
        };
  },
};
