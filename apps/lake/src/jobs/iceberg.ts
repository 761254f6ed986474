/**
 * The Iceberg tables' maintenance jobs, over every table of the lake (bronze, silver, gold):
 *
 *   iceberg.expire_snapshots  every 10 min  removes snapshots older than LAKE_ICEBERG_SNAPSHOT_RETENTION_H
 *                                           (keeping the newest LAKE_ICEBERG_SNAPSHOT_MIN_KEEP) and the
 *                                           manifest lists, manifests and table data files only they used
 *   iceberg.remove_orphans    hourly        deletes files under a table's metadata/ and data/ that no
 *                                           metadata names, once unreferenced for LAKE_ICEBERG_ORPHAN_AGE_H
 *
 * Without them a table's metadata file grows by one snapshot per commit for ever (docs/iceberg.md).
 * Both are idempotent and safe beside running writers (expiry commits optimistically, like a writer).
 */
import type { Config } from "@tributary/shared/config";
import { expireLakeSnapshots, removeLakeOrphans } from "@tributary/shared/lake/iceberg/maintenance";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { createLakeStore } from "@tributary/shared/lake/store";
import type { JobDefinition } from "@tributary/shared/scheduler/job";

export const ICEBERG_EXPIRE_JOB = "iceberg.expire_snapshots";
export const ICEBERG_ORPHANS_JOB = "iceberg.remove_orphans";

const HOUR_MS = 3_600_000;

export function icebergJobs(config: Config): JobDefinition[] {
  const lake = () => {
    const store = createLakeStore(config);
    return { store, catalog: openCatalog(config, store) };
  };
  return [
    {
      name: ICEBERG_EXPIRE_JOB,
      pattern: "0 */10 * * * *",
      description: `Expires Iceberg snapshots older than ${config.lake.icebergSnapshotRetentionH} h (keeping the newest ${config.lake.icebergSnapshotMinKeep}) and deletes what only they used`,
      timeoutMs: 10 * 60_000,
      retries: 1,
      async run() {
        const { store, catalog } = lake();
        const tables = await expireLakeSnapshots(store, catalog, {
          maxAgeMs: config.lake.icebergSnapshotRetentionH * HOUR_MS,
          minKeep: config.lake.icebergSnapshotMinKeep,
        });
        const expired = Object.values(tables).reduce((n, r) => n + r.snapshotsExpired, 0);
        return { rows: expired, detail: { tables } };
      },
    },
    {
      name: ICEBERG_ORPHANS_JOB,
      pattern: "0 47 * * * *",
      description: `Deletes files under Iceberg tables that no metadata has named for ${config.lake.icebergOrphanAgeH} h`,
      timeoutMs: 30 * 60_000,
      retries: 1,
      async run() {
        const { store, catalog } = lake();
        const tables = await removeLakeOrphans(store, catalog, config.lake.icebergOrphanAgeH * HOUR_MS);
        const deleted = Object.values(tables).reduce((n, r) => n + r.deleted, 0);
        return { rows: deleted, detail: { tables } };
      },
    },
  ];
}
