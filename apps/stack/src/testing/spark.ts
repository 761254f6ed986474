/**
 * Apache Spark (local[2]) with Iceberg's Spark runtime, from Maven Central: the lake's independent
 * reader in tests. One JVM per test file answers many SQL statements over stdin/stdout
 * (SparkSql.java, run by Java's source launcher, so nothing is compiled or committed as a jar).
 */
import { join } from "node:path";
import { QUICK_JVM } from "../jvm.ts";
import { resolveClasspath } from "../maven.ts";
import { StackError } from "../proc.ts";

export const SPARK_VERSION = "4.1.3";
export const ICEBERG_VERSION = "1.12.0";

export interface SparkAnswer {
  readonly columns: string[];
  /** Values in Spark's string forms (exact decimals, RFC 3339 UTC timestamps), `null` for NULL. */
  readonly rows: Array<Array<string | null>>;
}

export class SparkQueryError extends Error {
  override readonly name = "SparkQueryError";
}

export interface SparkOptions {
  readonly stateDir: string;
  /** Spark and catalog settings, e.g. `spark.sql.catalog.lake.type=hadoop`. */
  readonly conf: Readonly<Record<string, string>>;
  /** Startup bound (resolving jars on a clean machine and starting the JVM). */
  readonly startTimeoutMs?: number;
}

const JAVA_OPENS = [
  "sun.nio.ch",
  "java.nio",
  "java.lang",
  "java.lang.invoke",
  "java.util",
  "sun.util.calendar",
].map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`);

/** The classpath of Spark with Iceberg's runtime (resolved once, cached under the state dir). */
export function sparkClasspath(stateDir: string): Promise<string> {
  return resolveClasspath({
    profile: "spark",
    property: "spark.version",
    version: SPARK_VERSION,
    cacheDir: join(stateDir, "maven"),
  });
}

export class SparkSession implements AsyncDisposable {
  private buffer = "";
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private stderr = "";

  private constructor(private readonly proc: Bun.Subprocess<"pipe", "pipe", "pipe">) {
    void this.pump();
    void (async () => {
      for await (const chunk of proc.stderr)
        this.stderr = (this.stderr + new TextDecoder().decode(chunk)).slice(-4000);
    })();
  }

  static async start(opts: SparkOptions): Promise<SparkSession> {
    const cp = await sparkClasspath(opts.stateDir);
    const conf = {
      "spark.ui.enabled": "false",
      "spark.driver.bindAddress": "127.0.0.1",
      "spark.driver.host": "127.0.0.1",
      "spark.sql.session.timeZone": "UTC",
      "spark.sql.shuffle.partitions": "2",
      "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
      ...opts.conf,
    };
    const proc = Bun.spawn(
      [
        "java",
        "-Xmx1g",
        ...QUICK_JVM,
        "-Duser.timezone=UTC",
        ...JAVA_OPENS,
        "-cp",
        cp,
        join(import.meta.dir, "SparkSql.java"),
        ...Object.entries(conf).map(([k, v]) => `${k}=${v}`),
      ],
      { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, SPARK_LOCAL_IP: "127.0.0.1" } },
    );
    const session = new SparkSession(proc);
    const ready = await session.next(opts.startTimeoutMs ?? 300_000);
    if (!ready.includes('"ready"')) throw new StackError(`Spark did not start: ${ready}\n${session.stderr}`);
    return session;
  }

  private async pump(): Promise<void> {
    for await (const chunk of this.proc.stdout) {
      this.buffer += new TextDecoder().decode(chunk);
      let nl = this.buffer.indexOf("\n");
      while (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.startsWith("{")) this.lines.push(line);
        nl = this.buffer.indexOf("\n");
      }
      this.waiter?.();
    }
    this.waiter?.();
  }

  private async next(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.proc.exitCode !== null)
        throw new StackError(`Spark exited (${this.proc.exitCode}):\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new StackError(`Spark gave no answer within ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 1000);
      });
    }
    return this.lines.shift() as string;
  }

  /** Runs one statement; throws {@link SparkQueryError} with Spark's message when it fails. */
  async sql(statement: string, timeoutMs = 120_000): Promise<SparkAnswer> {
    this.proc.stdin.write(`${JSON.stringify(statement)}\n`);
    this.proc.stdin.flush();
    const answer = JSON.parse(await this.next(timeoutMs)) as SparkAnswer | { error: string };
    if ("error" in answer) throw new SparkQueryError(`${answer.error}\n  in: ${statement}`);
    return answer;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.proc.stdin.end();
    const exited = await Promise.race([this.proc.exited, Bun.sleep(20_000).then(() => undefined)]);
    if (exited === undefined) this.proc.kill("SIGKILL");
  }
}

/**
 * Spark configuration of an Iceberg catalog `name`: Iceberg's Hadoop catalog over a warehouse
 * directory (the embedded catalog's `<LAKE_URI>/_iceberg`), or its REST catalog at `rest.uri`. No
 * cached table state: tests read tables again between commits.
 */
export function icebergCatalogConf(
  name: string,
  at: { readonly warehouse: string } & (
    | { readonly type: "hadoop" }
    | { readonly type: "rest"; readonly uri: string; readonly token: string }
  ),
): Record<string, string> {
  const p = `spark.sql.catalog.${name}`;
  return {
    [p]: "org.apache.iceberg.spark.SparkCatalog",
    [`${p}.type`]: at.type,
    [`${p}.warehouse`]: at.warehouse,
    [`${p}.cache-enabled`]: "false",
    ...(at.type === "rest" ? { [`${p}.uri`]: at.uri, [`${p}.token`]: at.token } : {}),
  };
}
