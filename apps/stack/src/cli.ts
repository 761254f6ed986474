/** `bun run stack up|down|status|logs [service…] [--json] [-n lines]` */
import { existsSync, readFileSync } from "node:fs";
import { ConfigError, loadConfig, type StackService } from "@tributary/shared/config";
import { StackError } from "./proc.ts";
import { logFileOf, SERVICES, stackDown, stackStatus, stackUp } from "./stack.ts";

const USAGE = "usage: bun run stack up|down|status|logs [kafka|postgres|s3 …] [--json] [-n LINES]";

function parse(argv: string[]): { cmd: string; only?: StackService[]; json: boolean; lines: number } {
  const [cmd = "", ...rest] = argv;
  const only: StackService[] = [];
  let json = false;
  let lines = 50;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--json") json = true;
    else if (a === "-n") lines = Number(rest[++i]);
    else if (a in SERVICES) only.push(a as StackService);
    else throw new StackError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return { cmd, only: only.length ? only : undefined, json, lines };
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
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
    default:
      console.error(USAGE);
      return 2;
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
