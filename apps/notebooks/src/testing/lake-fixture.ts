/**
 * The notebooks' test lake: the lake's one fixture (bronze generated, then the real silver and gold
 * jobs), so the notebooks are tested against the datasets the pipeline really writes.
 */
export {
  buildLakeFixture,
  type LakeFixture,
  type LakeFixtureOptions,
} from "@tributary/lake/testing/lake-fixture";
