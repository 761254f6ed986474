/**
 * The set of jobs a scheduler serves, checked once: names, cron patterns, timeouts, retries and
 * `after` references (no unknown names, no cycles). Built without touching the run history, so a
 * command can refuse an unknown job before anything is registered.
 */
import type { Cron } from "croner";
import { DATA_PARTITIONS } from "./backfill.ts";
import type { JobSpec } from "./history.ts";
import type { JobDefinition } from "./job.ts";
import { type CronPatternError, cronFor } from "./slots.ts";

export class JobRegistryError extends Error {
  override readonly name = "JobRegistryError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid job registry:\n  - ${problems.join("\n  - ")}`);
  }
}

export class UnknownJobError extends Error {
  override readonly name = "UnknownJobError";
}

export class JobRegistry {
  private readonly jobs: ReadonlyMap<string, JobDefinition>;
  private readonly crons = new Map<string, Cron>();

  constructor(jobs: readonly JobDefinition[]) {
    validateJobs(jobs);
    this.jobs = new Map(jobs.map((j) => [j.name, j]));
    for (const job of jobs) this.crons.set(job.name, cronFor(job.pattern));
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  all(): JobDefinition[] {
    return [...this.jobs.values()];
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  /** The job, or an UnknownJobError listing the registered ones. */
  get(name: string): JobDefinition {
    const job = this.jobs.get(name);
    if (!job) {
      throw new UnknownJobError(
        `no job named ${JSON.stringify(name)}; registered: ${this.names().join(", ") || "none"}`,
      );
    }
    return job;
  }

  cron(name: string): Cron {
    const cron = this.crons.get(name);
    if (!cron) throw new UnknownJobError(`no job named ${JSON.stringify(name)}`);
    return cron;
  }
}

/** Checks names, patterns, timeouts, retries and `after` references (no unknown names, no cycles). */
export function validateJobs(jobs: readonly JobDefinition[]): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const job of jobs) {
    if (!/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/.test(job.name)) {
      problems.push(
        `job name ${JSON.stringify(job.name)}: expected dotted lower-case words such as silver.trades`,
      );
    }
    if (names.has(job.name)) problems.push(`job ${job.name}: registered twice`);
    names.add(job.name);
    try {
      cronFor(job.pattern);
    } catch (err) {
      problems.push(`job ${job.name}: ${(err as CronPatternError).message}`);
    }
    if (!Number.isInteger(job.timeoutMs) || job.timeoutMs <= 0) {
      problems.push(`job ${job.name}: timeoutMs must be a positive integer, got ${job.timeoutMs}`);
    }
    if (job.partitionedBy !== undefined && !DATA_PARTITIONS.includes(job.partitionedBy))
      problems.push(`job ${job.name}: partitionedBy must be hour or day, got ${String(job.partitionedBy)}`);
    const retries = job.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0 || retries > 20) {
      problems.push(`job ${job.name}: retries must be an integer from 0 to 20, got ${retries}`);
    }
  }
  for (const job of jobs) {
    for (const dep of job.after ?? []) {
      if (!names.has(dep)) problems.push(`job ${job.name}: runs after ${dep}, which is not registered`);
    }
  }
  if (problems.length === 0) {
    try {
      topologicalOrder(jobs);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new JobRegistryError(problems);
}

/** Jobs ordered so that each comes after the jobs it names in `after` (among those given). */
export function topologicalOrder(jobs: readonly JobDefinition[]): JobDefinition[] {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const state = new Map<string, "visiting" | "done">();
  const out: JobDefinition[] = [];
  const visit = (job: JobDefinition, path: string[]): void => {
    const s = state.get(job.name);
    if (s === "done") return;
    if (s === "visiting")
      throw new Error(`jobs depend on each other in a cycle: ${[...path, job.name].join(" → ")}`);
    state.set(job.name, "visiting");
    for (const dep of job.after ?? []) {
      const d = byName.get(dep);
      if (d) visit(d, [...path, job.name]);
    }
    state.set(job.name, "done");
    out.push(job);
  };
  for (const job of jobs) visit(job, []);
  return out;
}

/** What the history stores about a job (for the console and `jobs list` of another process). */
export function jobSpec(job: JobDefinition): JobSpec {
  return {
    name: job.name,
    pattern: job.pattern,
    description: job.description,
    timeoutMs: job.timeoutMs,
    retries: job.retries ?? 0,
    catchUp: job.catchUp ?? false,
    after: [...(job.after ?? [])],
    ...(job.partitionedBy ? { partitionedBy: job.partitionedBy } : {}),
  };
}
