/** The two lake backends every storage-level test runs on: a fresh local directory and a fresh S3 prefix. */
import { join } from "node:path";
import type { Config } from "../config.ts";
import { createLakeStore, type LakeStore } from "../lake/store.ts";
import { uniqueName } from "./names.ts";

export function lakeStoreBackends(
  config: Pick<Config, "lake" | "s3">,
  scratchDir: string,
  label = "lake",
): Array<[kind: "local" | "s3", make: () => LakeStore]> {
  return [
    [
      "local",
      () =>
        createLakeStore({
          lake: { ...config.lake, uri: join(scratchDir, uniqueName(label)) },
          s3: config.s3,
        }),
    ],
    [
      "s3",
      () =>
        createLakeStore({
          lake: { ...config.lake, uri: `s3://${config.s3.bucket}/${uniqueName(label)}` },
          s3: config.s3,
        }),
    ],
  ];
}
