/**
 * Scheduled refresh: re-runs every notebook so the console always serves recent `.ipynb` and HTML
 * from `apps/notebooks/out/` (DEFAULT_OUT_DIR). The shared scheduler registers `notebookRefreshJob`
 * with croner; a run that is still going when the next tick fires is joined, not doubled.
 */
import {
  DEFAULT_OUT_DIR,
  type RunNotebooksOptions,
  type RunNotebooksResult,
  runNotebooks,
} from "./runner/run-notebooks.ts";

export type { RunNotebooksOptions, RunNotebooksResult };
export { DEFAULT_OUT_DIR, runNotebooks };

export interface NotebookRefreshJob {
  readonly name: string;
  /** croner pattern with seconds: at second 0 of minute 7 and 37 of every hour. */
  readonly pattern: string;
  readonly run: (options?: RunNotebooksOptions) => Promise<RunNotebooksResult>;
}

let inFlight: Promise<RunNotebooksResult> | undefined;

export const notebookRefreshJob: NotebookRefreshJob = {
  name: "notebooks.refresh",
  // Off the hour boundary, after the hourly gold jobs have had time to commit.
  pattern: "0 7,37 * * * *",
  run: (options?: RunNotebooksOptions): Promise<RunNotebooksResult> => {
    if (!inFlight) {
      inFlight = runNotebooks(options).finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  },
};
