import { expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { validateJobs } from "@tributary/shared/scheduler/scheduler";
import { registeredJobs } from "./registry.ts";

test("the registry holds the market, CDC and notebook jobs and the history pruning, and is a valid registry", () => {
  const jobs = registeredJobs(loadConfig({ TRIBUTARY_STATE_DIR: "/nonexistent-state" }, "/tmp/registry"));
  expect(() => validateJobs(jobs)).not.toThrow();
  const names = jobs.map((j) => j.name);
  expect(names).toContain("scheduler.prune-history");
  expect(names).toContain("silver.trades");
  expect(names).toContain("gold.market");
  expect(names).toContain("silver.cdc_public_tesouro_prices");
  expect(names).toContain("gold.tesouro");
  expect(names).toContain("notebooks.refresh");
  expect(new Set(names).size).toBe(names.length);
});
