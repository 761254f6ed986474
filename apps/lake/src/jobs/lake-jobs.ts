/**
 * Registry of the long-running jobs `bun run lake` starts. The bronze writer and bronze compaction
 * register here; layer jobs (silver, gold, exports) plug in the same way:
 *
 *   registerLakeJob({ name: "silver", description: "…", defaultOn: true, start: (config, args) => … });
 *
 * and are then selectable with `bun run lake --jobs bronze,silver`.
 */
import type { Config } from "@tributary/shared/config";
import type { Logger } from "@tributary/shared/log";

/** Parsed command line, shared by all jobs (each reads what it knows). */
export interface LakeJobArgs {
  readonly topics: readonly string[] | undefined;
  /** `--routes topic=dataset:kind,…` as given. */
  readonly routes: string | undefined;
  readonly metricsPort: number | undefined;
  readonly sessionTimeoutMs: number | undefined;
  /** Test-only fault injection values, read from the environment by the CLI. */
  readonly faultPoint: string | undefined;
  readonly faultProbability: string | undefined;
  readonly faultSeed?: string | undefined;
  readonly logger: Logger;
}

export interface LakeJobHandle {
  /** Graceful stop: finish in-flight work, commit, release resources. */
  stop(): Promise<void>;
  /** Settles when the job ends on its own (rejects on a fatal error). */
  readonly done: Promise<void>;
}

export interface LakeJob {
  readonly name: string;
  readonly description: string;
  /** Started when `--jobs` is not given. */
  readonly defaultOn: boolean;
  start(config: Config, args: LakeJobArgs): Promise<LakeJobHandle>;
}

const registry = new Map<string, LakeJob>();

export function registerLakeJob(job: LakeJob): void {
  if (registry.has(job.name)) throw new Error(`lake job ${JSON.stringify(job.name)} is registered twice`);
  registry.set(job.name, job);
}

export function lakeJobs(): readonly LakeJob[] {
  return [...registry.values()];
}

export function lakeJob(name: string): LakeJob | undefined {
  return registry.get(name);
}
