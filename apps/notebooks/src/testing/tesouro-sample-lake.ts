/**
 * A Tesouro-only lake from the real sample (`shared/fixtures/tesouro`, 361 base dates, 8 bond types,
 * about 20,000 quotes): the file the demo loads into PostgreSQL, read by the loader's own parser,
 * committed to bronze as a CDC snapshot and carried through the real silver and gold jobs. The
 * notebooks' dense case: what the Tesouro charts must keep legible and small.
 * Runnable: `bun apps/notebooks/src/testing/tesouro-sample-lake.ts <dir>`.
 */
import { DEFAULT_SAMPLE_FILE, readTesouroFile } from "@tributary/ingest/tesouro/loader";
import { fixtureEnv, landTesouroSnapshot } from "@tributary/lake/testing/lake-fixture";

/** 2025-05-04T00:00:00Z, the day the sample was captured. */
const CAPTURED_AT_US = 1_746_316_800_000_000n;

/** Builds the lake in `dir` and returns the number of quotes. */
export async function buildTesouroSampleLake(dir: string): Promise<number> {
  const { rows, problems } = readTesouroFile(DEFAULT_SAMPLE_FILE);
  if (problems.length > 0)
    throw new Error(
      `the Tesouro sample has ${problems.length} bad rows, first: ${JSON.stringify(problems[0])}`,
    );
  await landTesouroSnapshot(
    fixtureEnv(dir),
    rows.map((r) => ({ ...r })),
    CAPTURED_AT_US,
  );
  return rows.length;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: bun apps/notebooks/src/testing/tesouro-sample-lake.ts <dir>");
    process.exit(2);
  }
  console.log(JSON.stringify({ dir, quotes: await buildTesouroSampleLake(dir) }));
}
