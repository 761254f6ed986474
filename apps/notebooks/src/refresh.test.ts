import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cron } from "croner";
import { notebookRefreshJob } from "./refresh.ts";

const dir = mkdtempSync(join(tmpdir(), "tributary-refresh-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("notebookRefreshJob", () => {
  test("has a croner pattern that fires twice an hour, at minutes 7 and 37", () => {
    const cron = new Cron(notebookRefreshJob.pattern, { paused: true, timezone: "UTC" });
    const runs = cron.nextRuns(3, new Date("2024-03-04T10:00:00Z")).map((d) => d.toISOString());
    expect(runs).toEqual([
      "2024-03-04T10:07:00.000Z",
      "2024-03-04T10:37:00.000Z",
      "2024-03-04T11:07:00.000Z",
    ]);
    cron.stop();
  });

  test("run() executes the notebooks into the output directory; overlapping calls share one run", async () => {
    const notebooks = join(dir, "nbs");
    const out = join(dir, "out");
    await Bun.write(join(notebooks, "tick.ts"), '// %%\nconsole.log("tick");\n');
    const options = {
      notebooksDir: notebooks,
      outDir: out,
      env: { ...process.env, LAKE_URI: join(dir, "lake") },
    };
    const first = notebookRefreshJob.run(options);
    const second = notebookRefreshJob.run(options);
    expect(second).toBe(first);
    const result = await first;
    expect(result.ok).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "index.json"), "utf8")).notebooks[0].name).toBe("tick");
    const third = notebookRefreshJob.run(options);
    expect(third).not.toBe(first);
    await third;
  }, 60_000);
});
