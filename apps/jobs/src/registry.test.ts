import { expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { validateJobs } from "@tributary/shared/scheduler/registry";
import { scheduledJobs } from "./registry.ts";

test("the composed registry holds the ingest's, the lake's, the notebooks' and the scheduler's jobs, and is a valid registry", () => {
  const jobs = scheduledJobs(loadConfig({ TRIBUTARY_STATE_DIR: "/nonexistent-state" }, "/tmp/registry"));
  expect(() => validateJobs(jobs)).not.toThrow();
  const names = jobs.map((j) => j.name);
  expect(names).toContain("scheduler.prune-history");
  expect(names).toContain("ingest.kraken_ohlc");
  expect(names).toContain("silver.trades");
  expect(names).toContain("gold.market");
  expect(names).toContain("silver.cdc_public_tesouro_prices");
  expect(names).toContain("gold.tesouro");
  expect(names).toContain("notebooks.refresh");
  expect(new Set(names).size).toBe(names.length);
});
