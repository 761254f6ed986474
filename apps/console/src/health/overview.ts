/**
 * One snapshot of the whole pipeline — sources, Kafka, lake, jobs — and the health verdict built
 * from it. Snapshots are cached for less than half a refresh interval and computed once for all
 * concurrent callers, so a fault shows on the overview, in `/health` and `/metrics` within one
 * refresh, and polling browsers cost one probe round per interval.
 */
import type { Config } from "@tributary/shared/config";
import type { JobBoard, JobsSummary } from "../jobs/board.ts";
import type { DatasetInfo, LakeCatalog } from "../lake/catalog.ts";
import type { TableHistories } from "../lake/history.ts";
import type { QueryEngine } from "../sql/engine.ts";
import type { KafkaMonitor, KafkaStatus } from "./kafka.ts";
import { probeSource, type SourceStatus, sourcePort } from "./sources.ts";

export interface HealthPart {
  /** `kafka`, `source:ingest`, `lake`, `dataset:bronze/kraken_trades`, `scheduler`, `job:silver.trades`. */
  readonly part: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface LakeSummary {
  readonly uri: string;
  readonly kind: "local" | "s3";
  readonly error: string | null;
  readonly datasets: readonly DatasetInfo[];
}

export interface Overview {
  readonly atMs: number;
  readonly refreshMs: number;
  readonly ok: boolean;
  readonly parts: readonly HealthPart[];
  readonly sources: readonly SourceStatus[];
  readonly kafka: KafkaStatus;
  readonly lake: LakeSummary;
  readonly jobs: JobsSummary;
}

export interface OverviewDeps {
  readonly config: Config;
  readonly catalog: LakeCatalog;
  /** The datasets' Iceberg tables: a view reads its table's current snapshot. */
  readonly tables?: TableHistories;
  readonly engine: QueryEngine | undefined;
  readonly kafka: KafkaMonitor;
  readonly board: JobBoard;
  readonly now?: () => number;
}

export class OverviewService {
  private last: Overview | undefined;
  private inflight: Promise<Overview> | undefined;
  private readonly maxAgeMs: number;

  constructor(private readonly deps: OverviewDeps) {
    this.maxAgeMs = Math.min(1000, Math.floor(deps.config.console.refreshMs / 2));
  }

  /** The latest snapshot if younger than the cache age, else a fresh one (shared by concurrent callers). */
  async snapshot(): Promise<Overview> {
    const now = this.deps.now?.() ?? Date.now();
    if (this.last && now - this.last.atMs < this.maxAgeMs) return this.last;
    this.inflight ??= this.compute().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async compute(): Promise<Overview> {
    const { config } = this.deps;
    const [sources, kafka, lake] = await Promise.all([
      Promise.all(config.console.sources.map((s) => probeSource(s, sourcePort(config, s)))),
      this.deps.kafka.status(),
      this.lake(),
    ]);
    const jobs = this.deps.board.summary();
    const parts = healthParts(sources, kafka, lake, jobs);
    const overview: Overview = {
      atMs: this.deps.now?.() ?? Date.now(),
      refreshMs: config.console.refreshMs,
      ok: parts.every((p) => p.ok),
      parts,
      sources,
      kafka,
      lake,
      jobs,
    };
    this.last = overview;
    return overview;
  }

  private async lake(): Promise<LakeSummary> {
    const { catalog, engine } = this.deps;
    const base = { uri: catalog.store.root, kind: catalog.store.kind };
    try {
      let datasets = await catalog.datasets();
      if (engine) {
        const specs = await Promise.all(
          datasets
            .filter((d) => d.files > 0)
            .map(async (d) => {
              const glob = `${catalog.store.url(`${d.layer}/${d.name}`)}/**/*.parquet`;
              // A table's current snapshot: the SQL box sees whole runs only. No table (or an unreadable
              // one): the Hive tree, as before.
              const snapshot = await this.deps.tables?.current(d.layer, d.name).catch(() => undefined);
              return { layer: d.layer, dataset: d.name, glob, ...(snapshot ? { snapshot } : {}) };
            }),
        );
        const failed = await engine.setViews(specs);
        datasets = datasets.map((d) => {
          const reason = failed.get(`${d.layer}.${d.name}`);
          return reason ? { ...catalog.unreadable(d.layer, d.name, reason), files: d.files } : d;
        });
      }
      return { ...base, error: null, datasets };
    } catch (err) {
      return { ...base, error: `cannot read the lake: ${(err as Error).message}`, datasets: [] };
    }
  }
}

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** The verdict: every part that is down, and every part that is fine, with a reason a person can act on. */
export function healthParts(
  sources: readonly SourceStatus[],
  kafka: KafkaStatus,
  lake: LakeSummary,
  jobs: JobsSummary,
  now = Date.now(),
): HealthPart[] {
  const parts: HealthPart[] = [];
  parts.push({
    part: "kafka",
    ok: kafka.up,
    detail: kafka.up
      ? `${kafka.topics.length} pipeline topics on ${kafka.brokers.join(", ")}`
      : `Kafka down at ${kafka.brokers.join(", ")}: ${kafka.error}`,
  });
  for (const s of sources) {
    parts.push({
      part: `source:${s.name}`,
      ok: s.up,
      detail: s.up ? `${s.label} healthy (${s.latencyMs} ms)` : `${s.label} down at ${s.url}: ${s.error}`,
    });
  }
  parts.push({
    part: "lake",
    ok: lake.error === null,
    detail: lake.error ?? `${lake.datasets.length} datasets at ${lake.uri}`,
  });
  for (const d of lake.datasets) {
    if (d.error !== null) {
      parts.push({ part: `dataset:${d.layer}/${d.name}`, ok: false, detail: `unreadable: ${d.error}` });
      continue;
    }
    if (d.files === 0) continue;
    parts.push({
      part: `dataset:${d.layer}/${d.name}`,
      ok: !d.stale,
      detail: d.stale
        ? `stale: last commit ${d.freshnessS === null ? "unknown" : `${age(d.freshnessS * 1000)} ago`}, limit ${age(d.staleAfterS * 1000)}`
        : `fresh: last commit ${age((d.freshnessS ?? 0) * 1000)} ago`,
    });
  }
  const dead = jobs.processes.filter((p) => p.state === "dead");
  parts.push({
    part: "scheduler",
    ok: dead.length === 0,
    detail:
      dead.length === 0
        ? `${jobs.processes.filter((p) => p.state === "running").length} scheduler process(es) running`
        : dead
            .map((p) => {
              const runs = jobs.abandoned.filter((r) => r.owner === p.id).map((r) => r.job);
              return `process ${p.pid} on ${p.host} died (last heartbeat ${age(now - p.heartbeatAt / 1000)} ago)${runs.length ? ` while running ${runs.join(", ")}` : ""}`;
            })
            .join("; "),
  });
  for (const j of jobs.jobs) {
    const last = j.lastRun;
    if (!last || j.running) continue;
    const bad =
      last.effectiveStatus === "failed" ||
      last.effectiveStatus === "timed_out" ||
      last.effectiveStatus === "abandoned";
    if (bad) {
      parts.push({
        part: `job:${j.spec.name}`,
        ok: false,
        detail: `last run ${last.effectiveStatus}${last.error ? `: ${last.error.slice(0, 200)}` : ""}`,
      });
    }
  }
  return parts;
}
