/**
 * Which bronze dataset a topic feeds and how it is partitioned.
 * Kraken topics → `bronze/kraken_*` by year/month/day/hour of the event time and pair (the symbol's
 * path form, shared/src/lake/layout.ts); CDC topics
 * `<prefix>.<schema>.<table>` → `bronze/cdc_<schema>_<table>` by the change's commit date.
 */
import {
  BRONZE_DATASETS,
  DAY_PARTITION_KEYS,
  HOUR_PARTITION_KEYS,
  type Layer,
} from "@tributary/shared/lake/layout";

export type BronzeKind = "kraken" | "cdc";

export interface BronzeDataset {
  readonly layer: Layer;
  /** Dataset directory under `bronze/`, e.g. `kraken_trades`. */
  readonly name: string;
  readonly topic: string;
  readonly kind: BronzeKind;
  /** Hive partition columns, outermost first. */
  readonly partitionColumns: readonly string[];
}

export const KRAKEN_PARTITIONS = HOUR_PARTITION_KEYS;
export const CDC_PARTITIONS = DAY_PARTITION_KEYS;

export class UnknownTopicError extends Error {
  override readonly name = "UnknownTopicError";
}

/** Resolves a configured topic to its dataset; a topic we cannot place is an error, never guessed. */
export function bronzeDatasetFor(topic: string, cdcPrefix: string): BronzeDataset {
  const kraken = (BRONZE_DATASETS as Record<string, string>)[topic];
  if (kraken !== undefined) {
    return { layer: "bronze", name: kraken, topic, kind: "kraken", partitionColumns: KRAKEN_PARTITIONS };
  }
  const parts = topic.split(".");
  if (
    parts.length === 3 &&
    parts[0] === cdcPrefix &&
    /^[a-z_][a-z0-9_]*$/.test(parts[1] ?? "") &&
    /^[a-z_][a-z0-9_]*$/.test(parts[2] ?? "")
  ) {
    return {
      layer: "bronze",
      name: `cdc_${parts[1]}_${parts[2]}`,
      topic,
      kind: "cdc",
      partitionColumns: CDC_PARTITIONS,
    };
  }
  throw new UnknownTopicError(
    `topic ${JSON.stringify(topic)} feeds no bronze dataset: expected ${Object.keys(BRONZE_DATASETS).join(", ")} or ${cdcPrefix}.<schema>.<table>`,
  );
}

/** A dataset for an explicitly routed topic (`--routes topic=dataset:kind`). */
export function routedDataset(topic: string, name: string, kind: BronzeKind): BronzeDataset {
  if (!/^[a-z0-9_]+$/.test(name))
    throw new UnknownTopicError(`route for ${topic}: dataset ${JSON.stringify(name)} must be [a-z0-9_]+`);
  return {
    layer: "bronze",
    name,
    topic,
    kind,
    partitionColumns: kind === "kraken" ? KRAKEN_PARTITIONS : CDC_PARTITIONS,
  };
}

/** Parses `topic=dataset:kind,…` (kind `kraken` or `cdc`). */
export function parseRoutes(text: string): Map<string, BronzeDataset> {
  const out = new Map<string, BronzeDataset>();
  for (const item of text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")) {
    const m = /^([A-Za-z0-9._-]+)=([a-z0-9_]+):(kraken|cdc)$/.exec(item);
    if (m === null)
      throw new UnknownTopicError(`route ${JSON.stringify(item)}: expected topic=dataset:kraken|cdc`);
    out.set(m[1] as string, routedDataset(m[1] as string, m[2] as string, m[3] as BronzeKind));
  }
  return out;
}
