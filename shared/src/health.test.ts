import { describe, expect, test } from "bun:test";
import { healthReport, StallWatch } from "./health.ts";

describe("progress-based health", () => {
  test("work that waits longer than the limit without progress is a stall; progress or an idle spell clears it", () => {
    let now = 0;
    const watch = new StallWatch("commit with rows", 60_000, () => now);
    expect(watch.waiting(false).check().ok).toBe(true);
    now = 10_000;
    watch.waiting(true); // lag appears
    now = 69_000;
    expect(watch.check("lag 5 records").ok).toBe(true);
    now = 70_001;
    expect(watch.check("lag 5 records")).toEqual({
      ok: false,
      detail: "stalled: lag 5 records and no commit with rows for 60 s (limit 60 s)",
    });
    watch.progressed();
    expect(watch.check().ok).toBe(true);
    now = 200_000;
    expect(watch.waiting(true).check().ok).toBe(false);
    expect(watch.waiting(false).check().ok).toBe(true);
  });

  test("busy work that makes no progress is not progress", () => {
    let now = 0;
    const watch = new StallWatch("commit with rows", 1000, () => now);
    for (; now < 5000; now += 100) watch.waiting(true); // flushes that fail keep the work waiting
    expect(watch.check().ok).toBe(false);
    expect(healthReport({ a: { ok: true, detail: "" }, b: watch.check() }).ok).toBe(false);
  });
});
