/**
 * Test-only fault injection: the writer SIGKILLs itself at a named step of the exactly-once
 * protocol, so crash tests land exactly mid-COPY, after the commit record, mid-publish, … .
 * Enabled only by `TRIBUTARY_FAULT_POINT` (a point or `any`) with `TRIBUTARY_FAULT_PROB` (0..1,
 * default 1) and `TRIBUTARY_FAULT_SEED` (the draw's seed, so a crash test replays), read by the CLI
 * at the edge; without them every call here is a no-op.
 */
import { writeSync } from "node:fs";
import { seededRandom } from "@tributary/shared/random";

export const FAULT_POINTS = [
  "mid-copy",
  "after-stage",
  "after-commit-record",
  "mid-publish",
  "after-publish",
  "after-offset-commit",
  "before-table-commit",
  "after-table-commit",
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface FaultPlan {
  readonly point: FaultPoint | "any";
  /** Chance that reaching the point kills the process. */
  readonly probability: number;
  /** Seed of the draws (chance, delay mid-COPY); a fresh one when absent. */
  readonly seed?: number;
}

export class FaultPlanError extends Error {
  override readonly name = "FaultPlanError";
}

/** Parses the env values (already read by the caller); `undefined` when fault injection is off. */
export function parseFaultPlan(
  point: string | undefined,
  probability: string | undefined,
  seed?: string | undefined,
): FaultPlan | undefined {
  if (point === undefined || point === "") return undefined;
  if (point !== "any" && !(FAULT_POINTS as readonly string[]).includes(point)) {
    throw new FaultPlanError(
      `TRIBUTARY_FAULT_POINT=${JSON.stringify(point)}: expected any or one of ${FAULT_POINTS.join(", ")}`,
    );
  }
  const p = probability === undefined || probability === "" ? 1 : Number(probability);
  if (!Number.isFinite(p) || p < 0 || p > 1) {
    throw new FaultPlanError(
      `TRIBUTARY_FAULT_PROB=${JSON.stringify(probability)}: expected a number from 0 to 1`,
    );
  }
  if (seed === undefined || seed === "") return { point: point as FaultPoint | "any", probability: p };
  const n = Number(seed);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new FaultPlanError(
      `TRIBUTARY_FAULT_SEED=${JSON.stringify(seed)}: expected an integer from 0 to 4294967295`,
    );
  }
  return { point: point as FaultPoint | "any", probability: p, seed: n };
}

export type Kill = (point: FaultPoint) => void;

/** Marker line on stderr before the kill, so a crash test knows the fault (not its own kill -9) fired. */
export const FAULT_MARKER = "TRIBUTARY_FAULT_INJECTED";

const sigkillSelf: Kill = (point) => {
  writeSync(2, `${FAULT_MARKER} ${point}\n`);
  process.kill(process.pid, "SIGKILL");
};

export class FaultInjector {
  private readonly random: () => number;

  constructor(
    private readonly plan: FaultPlan | undefined,
    private readonly kill: Kill = sigkillSelf,
    random?: () => number,
  ) {
    const seed = plan?.seed ?? crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
    this.random = random ?? seededRandom(seed);
  }

  private chosen(point: FaultPoint): boolean {
    if (this.plan === undefined) return false;
    if (this.plan.point !== "any" && this.plan.point !== point) return false;
    return this.random() < this.plan.probability;
  }

  /** Kills the process here if the plan picks this point. */
  hit(point: FaultPoint): void {
    if (this.chosen(point)) this.kill(point);
  }

  /**
   * For `mid-copy`: arms a timer that kills the process a few milliseconds into the COPY (the COPY
   * runs on DuckDB's threads, so the timer fires while it writes). Returns the disarm function.
   */
  armDuring(point: FaultPoint, maxDelayMs = 5): () => void {
    if (!this.chosen(point)) return () => undefined;
    const timer = setTimeout(() => this.kill(point), Math.floor(this.random() * maxDelayMs));
    return () => clearTimeout(timer);
  }
}
