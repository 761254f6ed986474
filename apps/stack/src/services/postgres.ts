/**
 * A PostgreSQL cluster owned by the stack, made with the machine's binaries, with
 * wal_level=logical for CDC. initdb refuses root, so as root the cluster belongs to `postgres`.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { ensurePortFree, isOurProcess, StackError, stopPid, waitFor, which } from "../proc.ts";
import type { Service, ServiceStatus } from "./service.ts";

const DB = "tributary";
const ROLE = "tributary";

/** Finds the PostgreSQL server binaries: pg_config's bindir, else the newest /usr/lib/postgresql. */
export function postgresBinDir(): string {
  const pgConfig = which("pg_config");
  if (pgConfig) {
    const dir = Bun.spawnSync([pgConfig, "--bindir"]).stdout.toString().trim();
    if (dir && existsSync(join(dir, "initdb"))) return dir;
  }
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], "bin");
  }
  const initdb = which("initdb");
  if (initdb) return initdb.replace(/\/initdb$/, "");
  throw new StackError(
    "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them (apt-get install postgresql) or point PG_URL at an existing server and drop postgres from STACK_SERVICES",
  );
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the cluster's owner. */
function pgCommand(bin: string, args: readonly string[]): string[] {
  return isRoot() ? ["runuser", "-u", "postgres", "--", bin, ...args] : [bin, ...args];
}

function chownToPostgres(path: string): void {
  if (!isRoot()) return;
  const pw = Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
  const gr = Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim();
  if (!pw)
    throw new StackError(
      "running as root but there is no `postgres` user to own the cluster (initdb refuses root)",
    );
  chownSync(path, Number(pw), Number(gr));
}

export function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function adminUrl(port: number, database = "postgres"): string {
  return `postgres://postgres@127.0.0.1:${port}/${database}`;
}

async function query(url: string, text: string): Promise<unknown[]> {
  const sql = new SQL(url, { max: 1, connectionTimeout: 2, idleTimeout: 1 });
  try {
    return await sql.unsafe(text);
  } finally {
    await sql.close();
  }
}

export async function postgresReady(url: string): Promise<boolean> {
  try {
    const rows = (await query(url, "SHOW wal_level")) as { wal_level: string }[];
    return rows[0]?.wal_level === "logical";
  } catch {
    return false;
  }
}

export const postgresService: Service = {
  name: "postgres",
  endpoint: (config) => config.postgres.url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@"),
  logFile: (ctx) => join(ctx.dir, "postgres.log"),

  async start(ctx) {
    const { config, dir } = ctx;
    const port = config.stack.postgresPort;
    const dataDir = join(dir, "data");
    const runDir = join(dir, "run");
    if (isOurProcess(postmasterPid(dataDir), dataDir)) {
      await waitFor("PostgreSQL", config.stack.readyTimeoutMs, () => postgresReady(adminUrl(port)));
      return;
    }
    await ensurePortFree(port, "STACK_POSTGRES_PORT and PG_URL");
    const bin = postgresBinDir();
    for (const d of [dir, runDir]) {
      mkdirSync(d, { recursive: true });
      chownToPostgres(d);
    }
    const fresh = !existsSync(join(dataDir, "PG_VERSION"));
    if (fresh) {
      ctx.say(`postgres: initdb ${dataDir}`);
      const init = Bun.spawnSync(
        pgCommand(join(bin, "initdb"), [
          "-D",
          dataDir,
          "-U",
          "postgres",
          "--auth=trust",
          "--encoding=UTF8",
          "--locale=C.UTF-8",
        ]),
      );
      if (init.exitCode !== 0) throw new StackError(`initdb failed: ${init.stderr.toString().slice(-800)}`);
    }
    const logFile = this.logFile(ctx);
    if (!existsSync(logFile)) await Bun.write(logFile, "");
    chownToPostgres(logFile);
    const options = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${runDir}`,
      "-c wal_level=logical",
      "-c max_replication_slots=32",
      "-c max_wal_senders=32",
      "-c max_connections=200",
      "-c timezone=UTC",
      "-c log_timezone=UTC",
    ].join(" ");
    ctx.say(`postgres: starting on 127.0.0.1:${port} (wal_level=logical)`);
    const start = Bun.spawnSync(
      pgCommand(join(bin, "pg_ctl"), [
        "-D",
        dataDir,
        "-l",
        logFile,
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
      ]),
    );
    if (start.exitCode !== 0) {
      throw new StackError(
        `pg_ctl start failed: ${start.stdout.toString().slice(-400)}${start.stderr.toString().slice(-400)}`,
      );
    }
    await waitFor("PostgreSQL", config.stack.readyTimeoutMs, () => postgresReady(adminUrl(port)));
    const roles = (await query(
      adminUrl(port),
      `SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}'`,
    )) as unknown[];
    if (roles.length === 0) await query(adminUrl(port), `CREATE ROLE ${ROLE} LOGIN SUPERUSER REPLICATION`);
    const dbs = (await query(
      adminUrl(port),
      `SELECT 1 FROM pg_database WHERE datname = '${DB}'`,
    )) as unknown[];
    if (dbs.length === 0) await query(adminUrl(port), `CREATE DATABASE ${DB} OWNER ${ROLE}`);
  },

  async stop(ctx) {
    const dataDir = join(ctx.dir, "data");
    const pid = postmasterPid(dataDir);
    if (!isOurProcess(pid, dataDir)) return;
    const bin = postgresBinDir();
    const res = Bun.spawnSync(
      pgCommand(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "-t", "30", "stop"]),
    );
    if (res.exitCode !== 0 && pid !== undefined) await stopPid(pid, 10_000);
    ctx.say("postgres: stopped");
  },

  async status(ctx): Promise<ServiceStatus> {
    const dataDir = join(ctx.dir, "data");
    const pid = postmasterPid(dataDir);
    const endpoint = this.endpoint(ctx.config);
    if (!isOurProcess(pid, dataDir)) return { name: "postgres", state: "down", endpoint };
    const ready = await postgresReady(adminUrl(ctx.config.stack.postgresPort));
    return ready
      ? { name: "postgres", state: "up", pid, endpoint }
      : {
          name: "postgres",
          state: "unhealthy",
          pid,
          endpoint,
          detail: "postmaster running but not answering with wal_level=logical",
        };
  },
};

export function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
