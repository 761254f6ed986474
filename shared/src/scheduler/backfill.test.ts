import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../log.ts";
import { backfillPlan, partitionRanges } from "./backfill.ts";
import { RunHistory } from "./history.ts";
import { Scheduler } from "./scheduler.ts";

const iso = (ranges: { from: Date; to: Date }[]): string[][] =>
  ranges.map((r) => [r.from.toISOString(), r.to.toISOString()]);

describe("backfill by data partition", () => {
  test("a day-partitioned job every 5 s backfills a week in 7 runs, each over a whole UTC day", () => {
    const plan = backfillPlan(
      { pattern: "*/5 * * * * *", partitionedBy: "day" },
      new Date("2024-03-01T00:00:00Z"),
      new Date("2024-03-08T00:00:00Z"),
      10_000,
    );
    expect(plan.length).toBe(7);
    expect(iso(plan)[0]).toEqual(["2024-03-01T00:00:00.000Z", "2024-03-02T00:00:00.000Z"]);
    expect(iso(plan)[6]).toEqual(["2024-03-07T00:00:00.000Z", "2024-03-08T00:00:00.000Z"]);
    // The same job by cron slot would be 120,960 runs: refused.
    expect(() =>
      backfillPlan(
        { pattern: "*/5 * * * * *" },
        new Date("2024-03-01T00:00:00Z"),
        new Date("2024-03-08T00:00:00Z"),
        10_000,
      ),
    ).toThrow("more than 10000 slots");
  });

  test("every hour the range touches is re-run once, whole", () => {
    const plan = partitionRanges(
      new Date("2024-03-01T22:30:00Z"),
      new Date("2024-03-02T01:10:00Z"),
      "hour",
      100,
    );
    expect(iso(plan)).toEqual([
      ["2024-03-01T22:00:00.000Z", "2024-03-01T23:00:00.000Z"],
      ["2024-03-01T23:00:00.000Z", "2024-03-02T00:00:00.000Z"],
      ["2024-03-02T00:00:00.000Z", "2024-03-02T01:00:00.000Z"],
      ["2024-03-02T01:00:00.000Z", "2024-03-02T02:00:00.000Z"],
    ]);
    expect(() => partitionRanges(new Date("2024-03-02Z"), new Date("2024-03-01Z"), "day", 10)).toThrow(
      "backfill range is empty",
    );
    expect(() => partitionRanges(new Date("2024-01-01Z"), new Date("2024-03-01Z"), "hour", 100)).toThrow(
      "covers 1440 hours, more than 100",
    );
  });

  test("the scheduler hands each run its partition as the range", async () => {
    const dir = mkdtempSync(join(tmpdir(), "backfill-"));
    const history = RunHistory.open(join(dir, "runs.sqlite"));
    const seen: string[][] = [];
    const scheduler = new Scheduler({
      history,
      log: createLogger("t", "error", () => {}),
      jobs: [
        {
          name: "gold.demo",
          pattern: "*/5 * * * * *",
          partitionedBy: "day",
          description: "demo",
          timeoutMs: 1000,
          run: async (ctx) => {
            if (ctx.range) seen.push([ctx.range.from.toISOString(), ctx.range.to.toISOString()]);
            return {};
          },
        },
      ],
    });
    try {
      await scheduler.start({ schedule: false, catchUp: false, requests: false });
      const outcome = await scheduler.backfill(
        "gold.demo",
        new Date("2024-03-01T12:00:00Z"),
        new Date("2024-03-03T00:00:00Z"),
      );
      expect([outcome.ranges, outcome.succeeded]).toEqual([2, 2]);
      expect(seen).toEqual([
        ["2024-03-01T00:00:00.000Z", "2024-03-02T00:00:00.000Z"],
        ["2024-03-02T00:00:00.000Z", "2024-03-03T00:00:00.000Z"],
      ]);
    } finally {
      await scheduler.stop();
      history.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
