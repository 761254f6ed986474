/**
 * Trino (the server distribution from Maven Central, one coordinator that is also its worker) as an
 * independent reader of the lake's Iceberg tables in tests. Trino 476 needs Java 24 or newer: the JDK
 * is `TRINO_JAVA_HOME`, else the newest `/usr/lib/jvm` JDK of version 24+. Queries go through
 * Trino's HTTP protocol (`POST /v1/statement`, then `nextUri` until done), bounded in time.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@tributary/shared/net/ports";
import { resolveArtifact } from "../maven.ts";
import { StackError } from "../proc.ts";
import { startWatchdog } from "./watchdog.ts";

export const TRINO_VERSION = "476";
const MIN_JAVA = 24;

export class TrinoQueryError extends Error {
  override readonly name = "TrinoQueryError";
}

export interface TrinoOptions {
  readonly stateDir: string;
  /** Catalog name → its properties (`connector.name=iceberg`, …). */
  readonly catalogs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly startTimeoutMs?: number;
}

/** Rows as Trino's JSON protocol gives them (numbers, strings, arrays, null). */
export type TrinoRow = unknown[];

interface StatementPage {
  readonly nextUri?: string;
  readonly data?: TrinoRow[];
  readonly error?: { readonly message: string };
}

/** A JDK home of version `MIN_JAVA`+ (its directory name carries the version, as Debian's and Temurin's do). */
function trinoJavaHome(): string {
  const fromEnv = process.env.TRINO_JAVA_HOME;
  if (fromEnv) return fromEnv;
  const dirs = existsSync("/usr/lib/jvm") ? readdirSync("/usr/lib/jvm") : [];
  const candidates = dirs
    .map((d) => ({ d, v: Number(/(\d+)/.exec(d)?.[1] ?? 0) }))
    .filter((c) => c.v >= MIN_JAVA && existsSync(join("/usr/lib/jvm", c.d, "bin", "java")))
    .sort((a, b) => b.v - a.v);
  if (candidates.length === 0)
    throw new StackError(
      `Trino ${TRINO_VERSION} needs Java ${MIN_JAVA}+: install one or set TRINO_JAVA_HOME`,
    );
  return join("/usr/lib/jvm", (candidates[0] as { d: string }).d);
}

/** The unpacked server distribution, fetched and unpacked once under the state dir. */
async function trinoHome(stateDir: string): Promise<string> {
  const home = join(stateDir, "trino", `trino-server-${TRINO_VERSION}`);
  if (existsSync(join(home, "lib"))) return home;
  const archive = await resolveArtifact(
    `io.trino:trino-server:${TRINO_VERSION}:tar.gz`,
    join(stateDir, "maven"),
    `trino-server-${TRINO_VERSION}.tar.gz`,
  );
  mkdirSync(join(stateDir, "trino"), { recursive: true });
  const tar = Bun.spawnSync(["tar", "xzf", archive, "-C", join(stateDir, "trino")]);
  if (tar.exitCode !== 0) throw new StackError(`could not unpack ${archive}: ${tar.stderr.toString()}`);
  rmSync(archive); // unpacked; Maven's own repository keeps a copy
  return home;
}

/** The last lines of a log, for error messages. */
function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-30).join("\n") : "";
}

export class TrinoServer implements AsyncDisposable {
  private constructor(
    private readonly proc: Bun.Subprocess,
    private readonly watchdog: Bun.Subprocess,
    private readonly url: string,
    private readonly dir: string,
  ) {}

  static async start(opts: TrinoOptions): Promise<TrinoServer> {
    const [home, java] = [await trinoHome(opts.stateDir), trinoJavaHome()];
    const dir = mkdtempSync(join(tmpdir(), "trino-"));
    const port = freePort();
    const props = (o: Readonly<Record<string, string>>) =>
      `${Object.entries(o)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`;
    mkdirSync(join(dir, "catalog"));
    writeFileSync(
      join(dir, "config.properties"),
      props({
        coordinator: "true",
        "node-scheduler.include-coordinator": "true",
        "http-server.http.port": String(port),
        "discovery.uri": `http://127.0.0.1:${port}`,
        "query.max-memory": "512MB",
        "query.max-memory-per-node": "512MB",
      }),
    );
    writeFileSync(join(dir, "log.properties"), props({ io: "WARN", org: "WARN" }));
    for (const [name, p] of Object.entries(opts.catalogs))
      writeFileSync(join(dir, "catalog", `${name}.properties`), props(p));
    const proc = Bun.spawn(
      [
        join(java, "bin", "java"),
        "-cp",
        `${home}/lib/*`,
        "-Xmx1536m",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djdk.attach.allowAttachSelf=true",
        "-Duser.timezone=UTC",
        `-Dnode.data-dir=${dir}`,
        "-Dnode.environment=test",
        "-Dnode.id=tributary-test",
        `-Dconfig=${join(dir, "config.properties")}`,
        `-Dcatalog.config-dir=${join(dir, "catalog")}`,
        `-Dplugin.dir=${join(home, "plugin")}`,
        `-Dlog.levels-file=${join(dir, "log.properties")}`,
        "io.trino.server.TrinoServer",
      ],
      {
        cwd: dir,
        stdin: "ignore",
        stdout: Bun.file(join(dir, "server.log")),
        stderr: Bun.file(join(dir, "server.err")),
      },
    );
    // If the test process is killed, its Trino and directory go with it.
    const watchdog = startWatchdog(process.pid, [`kill -9 ${proc.pid} 2>/dev/null`, `rm -rf '${dir}'`]);
    const server = new TrinoServer(proc, watchdog, `http://127.0.0.1:${port}`, dir);
    const deadline = Date.now() + (opts.startTimeoutMs ?? 300_000);
    for (;;) {
      const info = await fetch(`${server.url}/v1/info`, { signal: AbortSignal.timeout(2000) })
        .then((r) => (r.ok ? (r.json() as Promise<{ starting: boolean }>) : undefined))
        .catch(() => undefined);
      if (info !== undefined && !info.starting) return server;
      const failure =
        proc.exitCode !== null
          ? `Trino exited (${proc.exitCode})`
          : Date.now() > deadline
            ? `Trino did not start within ${opts.startTimeoutMs ?? 300_000} ms`
            : undefined;
      if (failure !== undefined) {
        const log = tail(join(dir, "server.err"));
        await server[Symbol.asyncDispose]();
        throw new StackError(`${failure}:\n${log}`);
      }
      await Bun.sleep(1000);
    }
  }

  /** Runs one statement to its end; throws {@link TrinoQueryError} with Trino's message. */
  async sql(statement: string, timeoutMs = 120_000): Promise<TrinoRow[]> {
    const signal = AbortSignal.timeout(timeoutMs);
    const headers = { "X-Trino-User": "tributary-test", "X-Trino-Time-Zone": "UTC" };
    let page = (await (
      await fetch(`${this.url}/v1/statement`, { method: "POST", body: statement, headers, signal })
    ).json()) as StatementPage;
    const rows: TrinoRow[] = [];
    for (;;) {
      if (page.data) rows.push(...page.data);
      if (page.error) throw new TrinoQueryError(`${page.error.message}\n  in: ${statement}`);
      if (!page.nextUri) return rows;
      page = (await (await fetch(page.nextUri, { headers, signal })).json()) as StatementPage;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.proc.kill("SIGTERM");
    const exited = await Promise.race([this.proc.exited, Bun.sleep(20_000).then(() => undefined)]);
    if (exited === undefined) this.proc.kill("SIGKILL");
    this.watchdog.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
