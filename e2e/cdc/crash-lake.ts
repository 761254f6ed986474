/**
 * The lake side of the CDC crash test (crash.test.ts): the bronze writer lands the CDC topics, then
 * each table's silver job (silver-child.ts, the table resolved as the scheduled job resolves it) is
 * killed with SIGKILL while a run is in progress, several times, and finally run to the end.
 */
import { join, resolve } from "node:path";
import { routedDataset } from "@tributary/lake/bronze/datasets";
import { startBronzeWriter } from "@tributary/lake/bronze/writer";
import { configuredCdcTables } from "@tributary/lake/jobs/cdc";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import type { Config } from "@tributary/shared/config";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore, type LakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { seededRandom } from "@tributary/shared/random";
import { uniqueName } from "@tributary/shared/testing/names";
import type { Kafka } from "kafkajs";

const repoRoot = resolve(import.meta.dir, "../..");

export interface CrashLake {
  readonly store: LakeStore;
  readonly lakeDir: string;
  readonly scratchDir: string;
  readonly config: Config;
}

export interface SilverKills {
  readonly killsMidRun: number;
  readonly attempts: number;
  /** The lake key glob of the table's current state. */
  readonly currentGlob: string;
}

/** Runs the bronze writer over the tables' topics until it has every record they hold now. */
export async function landTopics(
  config: Config,
  kafka: Kafka,
  opts: { readonly prefix: string; readonly tables: readonly string[]; readonly dir: string },
): Promise<CrashLake> {
  const lakeDir = join(opts.dir, "lake");
  const lakeConfig = {
    ...config,
    lake: { ...config.lake, uri: lakeDir, flushMs: 200, consumerGroup: uniqueName("group") },
  };
  const store = createLakeStore(lakeConfig);
  const commitLog = new CommitLog(store);
  const routes = new Map(
    opts.tables.map((name) => {
      const [schema = "", table = ""] = name.split(".");
      const topic = cdcTopic(opts.prefix, schema, table);
      return [topic, routedDataset(topic, cdcDatasetName({ schema, table }), "cdc")] as const;
    }),
  );
  const admin = kafka.admin();
  await admin.connect();
  const ends = await Promise.all(
    [...routes.keys()].map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) })),
  );
  await admin.disconnect();
  const writer = await startBronzeWriter(lakeConfig, {
    topics: [...routes.keys()],
    routes,
    metricsPort: null,
    logger: createLogger("cdc-crash-lake", "warn"),
  });
  try {
    for (let i = 0; i < 480; i++) {
      let done = true;
      for (const { topic, offsets } of ends) {
        const ds = { layer: "bronze" as const, name: routes.get(topic)?.name ?? "" };
        for (const o of offsets)
          if ((await commitLog.resumeOffset(ds, topic, o.partition)) < BigInt(o.high)) done = false;
      }
      if (done) break;
      await Bun.sleep(250);
    }
  } finally {
    await writer.stop();
  }
  return { store, lakeDir, scratchDir: join(opts.dir, "work"), config: lakeConfig };
}

/**
 * Kills the table's silver job with SIGKILL mid-run until it was interrupted `kills` times (at most
 * 12 attempts), then runs silver in-process until a run finds nothing new. A kill counts only if the
 * child had started a run and not finished it; the delay after the start is random but short, since
 * a run over this lake takes well under a second.
 */
export async function silverAfterKills(
  lake: CrashLake,
  name: string,
  seed: number,
  kills = 3,
): Promise<SilverKills> {
  const [table] = configuredCdcTables({ ...lake.config, cdc: { ...lake.config.cdc, tables: [name] } });
  if (!table) throw new Error(`no table ${name}`);
  const random = seededRandom(seed);
  let interrupted = 0;
  let attempts = 0;
  for (; attempts < 12 && interrupted < kills; attempts++) {
    const job = Bun.spawn(
      ["bun", join(import.meta.dir, "silver-child.ts"), lake.lakeDir, lake.scratchDir, name, "400"],
      { cwd: repoRoot, stdout: "pipe", stderr: "inherit" },
    );
    const lines: string[] = [];
    const reading = readLines(job.stdout, lines);
    const started = Date.now();
    while (
      !lines.some((l) => l.includes('"start"')) &&
      job.exitCode === null &&
      Date.now() - started < 30_000
    )
      await Bun.sleep(5);
    await Bun.sleep(Math.floor(random() * 120 * (1 + (attempts % 3))));
    job.kill(9);
    await job.exited;
    await reading;
    const starts = lines.filter((l) => l.includes('"start"')).length;
    const dones = lines.filter((l) => l.includes('"done"')).length;
    if (starts > dones) interrupted += 1;
  }
  const env = {
    store: lake.store,
    commitLog: new CommitLog(lake.store),
    log: createLogger("cdc-crash-silver", "warn"),
    scratchDir: lake.scratchDir,
  };
  let silver = await runCdcSilver(env, table);
  while (silver.events > 0 || silver.filesWritten > 0) silver = await runCdcSilver(env, table);
  return { killsMidRun: interrupted, attempts, currentGlob: silver.currentGlob };
}

/** Collects a child's stdout lines into `into` until the stream ends. */
async function readLines(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    into.push(...parts);
  }
  if (pending) into.push(pending);
}
