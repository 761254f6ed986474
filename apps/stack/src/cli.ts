/** `bun run stack up|down|status|logs [service…] [--json] [-n lines]` */
import { existsSync, readFileSync } from "node:fs";
import { stackDebeziumConnector } from "@tributary/shared/cdc/debezium-connector";
import { commandLineOrExit, UsageError } from "@tributary/shared/cli";
import { ConfigError, loadConfig, type StackService } from "@tributary/shared/config";
import { putConnector, waitConnectorRunning } from "./connect.ts";
import { StackError } from "./proc.ts";
import { STACK_CONNECTOR } from "./services/debezium.ts";
import { logFileOf, SERVICES, stackDown, stackStatus, stackUp } from "./stack.ts";

const USAGE =
  "usage: bun run stack up|down|status|logs [kafka|postgres|s3|debezium|iceberg-rest …] [--json] [-n LINES]\n" +
  "       bun run stack register-debezium [--url http://host:8083]   (docker-compose.yml's Debezium worker)";

function parse(argv: readonly string[]): {
  cmd: string;
  only?: StackService[];
  json: boolean;
  lines: number;
  url?: string;
} {
  const [cmd = "", ...rest] = argv;
  if (!["up", "down", "status", "logs", "register-debezium"].includes(cmd))
    throw new UsageError(
      cmd ? `unknown command ${JSON.stringify(cmd)}` : "which command? up, down, status, logs",
    );
  const only: StackService[] = [];
  let json = false;
  let lines = 50;
  let url: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--json") json = true;
    else if (a === "--url") url = rest[++i];
    else if (a === "-n") lines = Number(rest[++i]);
    else if (a in SERVICES) only.push(a as StackService);
    else throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
    if (!Number.isInteger(lines) || lines < 1)
      throw new UsageError("-n: expected a positive number of lines");
  }
  return { cmd, only: only.length ? only : undefined, json, lines, url };
}

async function main(): Promise<number> {
  const args = commandLineOrExit("stack", USAGE, process.argv.slice(2), parse);
  switch (args.cmd) {
    case "up": {
      const statuses = await stackUp({ only: args.only });
      print(statuses, args.json);
      return statuses.every((s) => s.state === "up") ? 0 : 1;
    }
    case "down":
      await stackDown({ only: args.only });
      return 0;
    case "status": {
      const statuses = await stackStatus({ only: args.only });
      print(statuses, args.json);
      return statuses.every((s) => s.state === "up") ? 0 : 3;
    }
    case "logs": {
      const config = loadConfig();
      for (const name of args.only ?? config.stack.services) {
        const file = logFileOf(config, name);
        console.log(`==> ${name}: ${file}`);
        if (existsSync(file))
          console.log(
            readFileSync(file, "utf8")
              .split("\n")
              .slice(-args.lines - 1)
              .join("\n"),
          );
      }
      return 0;
    }
    case "register-debezium": {
      // For a Kafka Connect worker this stack did not start (docker-compose.yml's `debezium`).
      const config = loadConfig();
      const url = args.url ?? `http://127.0.0.1:${config.stack.connectPort}`;
      await putConnector(url, STACK_CONNECTOR, stackDebeziumConnector(config));
      await waitConnectorRunning(url, STACK_CONNECTOR, config.stack.readyTimeoutMs);
      console.log(`connector ${STACK_CONNECTOR} running on ${url}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(args.cmd)}`);
  }
}

function print(
  statuses: readonly { name: string; state: string; pid?: number; endpoint: string; detail?: string }[],
  json: boolean,
): void {
  if (json) {
    console.log(JSON.stringify(statuses));
    return;
  }
  for (const s of statuses) {
    const mark = s.state === "up" ? "✔" : s.state === "down" ? "✖" : "!";
    console.log(
      `${mark} ${s.name.padEnd(9)} ${s.state.padEnd(10)} ${String(s.pid ?? "-").padEnd(8)} ${s.endpoint}${s.detail ? `  (${s.detail})` : ""}`,
    );
  }
}

try {
  process.exit(await main());
} catch (err) {
  if (err instanceof StackError || err instanceof ConfigError) {
    console.error(`stack: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
