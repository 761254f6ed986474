/** The notebook refresh as a scheduled job: re-runs every notebook against this lake into the console's folder. */

import type { Config } from "@tributary/shared/config";
import type { JobDefinition } from "@tributary/shared/scheduler/job";
import { notebookRefreshJob } from "./refresh.ts";

export function notebookJobs(config: Config): JobDefinition[] {
  return [
    {
      name: notebookRefreshJob.name,
      pattern: notebookRefreshJob.pattern,
      description: "re-run the notebooks; .ipynb and HTML land where the console serves them",
      timeoutMs: 15 * 60_000,
      async run(ctx) {
        const result = await notebookRefreshJob.run({
          outDir: config.console.notebooksDir,
          env: { ...process.env, LAKE_URI: config.lake.uri },
          onProgress: () => ctx.progress(0),
        });
        const failed = result.notebooks.filter((n) => !n.ok).map((n) => n.name);
        if (failed.length > 0) throw new Error(`notebooks with error outputs: ${failed.join(", ")}`);
        return { rows: result.notebooks.length, detail: { notebooks: result.notebooks.map((n) => n.name) } };
      },
    },
  ];
}
