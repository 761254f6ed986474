/** `bronze` lake job: the Kafka → bronze writer, with its topics resolved at start. */
import type { Config } from "@tributary/shared/config";
import { cdcTopic, TOPICS } from "@tributary/shared/contracts/topics";
import { connectKafka, createKafka } from "@tributary/shared/kafka";
import { checkLakeWritable, createLakeStore } from "@tributary/shared/lake/store";
import { parseRoutes } from "../bronze/datasets.ts";
import { parseFaultPlan } from "../bronze/faults.ts";
import { startBronzeWriter } from "../bronze/writer.ts";
import type { LakeJob } from "./lake-jobs.ts";

/** Topics the writer consumes by default: Kraken trades, tickers, candles and books, and the configured CDC tables. */
export function defaultBronzeTopics(config: Config): string[] {
  return [
    TOPICS.trades,
    TOPICS.ticker,
    TOPICS.ohlc,
    TOPICS.book,
    ...config.cdc.tables.map((t) => {
      const [schema = "", table = ""] = t.split(".");
      return cdcTopic(config.cdc.topicPrefix, schema, table);
    }),
  ];
}

/** Of `wanted`, the topics that exist (topics are never auto-created); explicit ones must all exist. */
async function existingTopics(
  config: Config,
  wanted: readonly string[],
  explicit: boolean,
): Promise<string[]> {
  const admin = createKafka(config.kafka, "lake-admin").admin();
  await connectKafka(admin, config.kafka);
  try {
    const have = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !have.has(t));
    if (explicit && missing.length > 0) throw new Error(`topics not found in Kafka: ${missing.join(", ")}`);
    return wanted.filter((t) => have.has(t));
  } finally {
    await admin.disconnect();
  }
}

export const bronzeWriterJob: LakeJob = {
  name: "bronze",
  description: "Kafka → bronze Parquet, exactly once per offset",
  defaultOn: true,
  async start(config, args) {
    // A lake that cannot be written fails here, naming LAKE_URI, before anything else is started.
    await checkLakeWritable(createLakeStore(config), "bronze-job");
    const routes = parseRoutes(args.routes ?? "");
    const explicit = args.topics !== undefined || routes.size > 0;
    const wanted = args.topics ?? (routes.size > 0 ? [...routes.keys()] : defaultBronzeTopics(config));
    const topics = await existingTopics(config, wanted, explicit);
    if (topics.length === 0)
      throw new Error("no bronze topics exist yet: start the ingest (or create the topics) first");
    const faults = parseFaultPlan(args.faultPoint, args.faultProbability, args.faultSeed);
    return startBronzeWriter(config, {
      topics,
      routes,
      logger: args.logger.child("bronze"),
      ...(args.metricsPort !== undefined ? { metricsPort: args.metricsPort } : {}),
      ...(args.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: args.sessionTimeoutMs } : {}),
      ...(faults !== undefined ? { faults } : {}),
    });
  },
};
