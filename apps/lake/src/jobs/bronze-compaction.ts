/** `compaction` lake job: compacts closed partitions of every bronze dataset periodically. */
import { join } from "node:path";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { createLakeStore } from "@tributary/shared/lake/store";
import { sleepUnlessAborted } from "@tributary/shared/sleep";
import { compactDataset, DEFAULT_COMPACTION } from "../bronze/compaction.ts";
import type { LakeJob } from "./lake-jobs.ts";

/** Pause between compaction rounds. */
export const COMPACTION_EVERY_MS = 15 * 60_000;

export const bronzeCompactionJob: LakeJob = {
  name: "compaction",
  description: "merges closed hours' small bronze files into files of a target size",
  defaultOn: true,
  async start(config, args) {
    const logger = args.logger.child("compaction");
    const store = createLakeStore(config);
    const log = new CommitLog(store);
    const catalog = openCatalog(config, store);
    const stopping = new AbortController();
    const round = async (): Promise<void> => {
      for (const name of await store.children("bronze/")) {
        if (stopping.signal.aborted) return;
        await compactDataset(
          store,
          log,
          { layer: "bronze", name },
          {
            ...DEFAULT_COMPACTION,
            catalog,
            tmpDir: join(config.stateDir, "lake-tmp", `${process.pid}-compaction`),
          },
          logger,
        );
      }
    };
    const done = (async () => {
      do await round().catch((err) => logger.error("compaction round failed", { error: err }));
      while (await sleepUnlessAborted(COMPACTION_EVERY_MS, stopping.signal));
    })();
    return {
      done,
      async stop() {
        stopping.abort();
        await done;
      },
    };
  },
};
