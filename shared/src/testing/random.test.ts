import { expect, test } from "bun:test";
import { seededRandom } from "../random.ts";
import { testRandom, testSeed } from "./random.ts";

test("the same seed replays the same sequence, another seed does not", () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const c = seededRandom(8);
  const seq = (r: () => number) => Array.from({ length: 5 }, r);
  const first = seq(a);
  expect(seq(b)).toEqual(first);
  expect(seq(c)).not.toEqual(first);
  expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
});

test("TRIBUTARY_TEST_SEED fixes the seed; without it each call draws one; a bad value is refused", () => {
  expect(testRandom("fixed", { TRIBUTARY_TEST_SEED: "42" }).seed).toBe(42);
  const drawn = new Set(Array.from({ length: 8 }, () => testSeed({})));
  expect(drawn.size).toBeGreaterThan(1);
  expect(() => testSeed({ TRIBUTARY_TEST_SEED: "-1" })).toThrow(
    'TRIBUTARY_TEST_SEED="-1": expected an integer from 0 to 4294967295',
  );
});
