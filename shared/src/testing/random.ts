/**
 * Randomized tests draw from a seeded source whose seed is printed, so any failure replays exactly:
 * `TRIBUTARY_TEST_SEED=<seed> bun test <file> -t '<test>'`. Without the variable each run draws a new
 * seed, so the suite keeps exploring new cases.
 */
import { seededRandom } from "../random.ts";

export interface TestRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

/** The seed: TRIBUTARY_TEST_SEED if set (an unsigned 32-bit integer), else a fresh one. */
export function testSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const fixed = env.TRIBUTARY_TEST_SEED;
  if (fixed === undefined || fixed === "") return crypto.getRandomValues(new Uint32Array(1))[0] as number;
  const seed = Number(fixed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff)
    throw new Error(`TRIBUTARY_TEST_SEED="${fixed}": expected an integer from 0 to 4294967295`);
  return seed;
}

/** A seeded random source for the test `name`; prints its seed. */
export function testRandom(name: string, env?: Readonly<Record<string, string | undefined>>): TestRandom {
  const seed = testSeed(env);
  console.log(`seed ${seed} for "${name}" (replay: TRIBUTARY_TEST_SEED=${seed})`);
  return { seed, random: seededRandom(seed) };
}
