/**
 * The console's test lake: the lake's one fixture (generated bronze, then the real silver and gold
 * jobs) in a temporary directory, ending at the current hour, with 600 trades per symbol whatever its
 * length; plus helpers to age datasets and to prove a request changed nothing.
 */
import { mkdtempSync, readdirSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildLakeFixture } from "@tributary/lake/testing/lake-fixture";

/** Trades per symbol, whatever the number of hours. */
export const TRADES_PER_SYMBOL = 600;

export interface LakeFixture {
  readonly root: string;
  /**
   * Makes a dataset without commit records (silver, gold) look written `ageS` seconds ago; bronze's
   * freshness comes from its commit log, so a test moves the console's clock instead.
   */
  age(layer: string, dataset: string, ageS: number): void;
  /** Every file under the lake with its size and mtime, to prove a request changed nothing. */
  snapshot(): string[];
  /** The datasets the fixture wrote (before any test added entries), as `layer/dataset`. */
  datasets(): string[];
}

export async function createLakeFixture(
  options: { hours?: number; symbols?: readonly string[] } = {},
): Promise<LakeFixture> {
  const root = mkdtempSync(join(tmpdir(), "console-lake-"));
  const hours = options.hours ?? 3;
  const start = new Date(Date.now() - hours * 3_600_000);
  start.setUTCMinutes(0, 0, 0);
  await buildLakeFixture(root, {
    start: start.toISOString().replace(/\.\d{3}Z$/, "Z"),
    hours,
    symbols: options.symbols ?? ["BTC/USD", "ETH/USD"],
    tradeEverySeconds: (hours * 3600) / TRADES_PER_SYMBOL,
    tesouro: false,
  });
  const datasets = ["bronze", "silver", "gold"].flatMap((layer) =>
    readdirSync(join(root, layer))
      .sort()
      .map((d) => `${layer}/${d}`),
  );
  return {
    root,
    age(layer, dataset, ageS) {
      const when = new Date(Date.now() - ageS * 1000);
      for (const file of walk(join(root, layer, dataset))) utimesSync(file, when, when);
    },
    snapshot() {
      return walk(root)
        .map((f) => {
          const st = statSync(f);
          return `${f} ${st.size} ${st.mtimeMs}`;
        })
        .sort();
    },
    datasets: () => datasets,
  };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}
