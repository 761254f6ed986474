import { expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { validateJobs } from "@tributary/shared/scheduler/registry";
import { lakeScheduledJobs } from "./registry.ts";

test("the lake's registry holds the market and CDC jobs, nothing of other apps, and is a valid registry", () => {
  const jobs = lakeScheduledJobs(loadConfig({ TRIBUTARY_STATE_DIR: "/nonexistent-state" }, "/tmp/registry"));
  expect(() => validateJobs(jobs)).not.toThrow();
  const names = jobs.map((j) => j.name);
  expect(names).toContain("silver.trades");
  expect(names).toContain("gold.market");
  expect(names).toContain("silver.cdc_public_tesouro_prices");
  expect(names).toContain("gold.tesouro");
  expect(names).toContain("iceberg.expire_snapshots");
  expect(names).toContain("iceberg.remove_orphans");
  expect(names).not.toContain("notebooks.refresh");
  expect(new Set(names).size).toBe(names.length);
});
