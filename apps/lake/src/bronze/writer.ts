/**
 * The bronze writer: a kafkajs consumer group member that appends every record of its assigned
 * topic-partitions into DuckDB staging tables and flushes them to bronze Parquet exactly once per
 * offset (protocol: docs/exactly-once.md).
 *
 * Flow per record: eachBatch → StageTable.append (DuckDB data chunks) → flush on rows/bytes/time →
 * COPY to a private directory → place into lake staging (rename on disk, upload on S3) → commit
 * record (exclusive) → publish (move into the tree) → commit the Kafka offset. Buffering continues
 * while a flush runs (one flush at a time); fetching pauses when buffered + in-flight bytes exceed
 * the memory budget.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import {
  type AppendCommit,
  appendCommitId,
  COMMIT_LOG_VERSION,
  CommitConflictError,
  CommitLog,
  type CommittedFile,
} from "@tributary/shared/lake/commit-log";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import { createLakeStore, type LakeStore } from "@tributary/shared/lake/store";
import { createLogger, type Logger } from "@tributary/shared/log";
import { nowRfc3339 } from "@tributary/shared/time";
import type { Consumer, EachBatchPayload } from "kafkajs";
import { type BronzeDataset, bronzeDatasetFor } from "./datasets.ts";
import { cdcEventFields, type EventFields, krakenEventFields } from "./event-time.ts";
import { FaultInjector, type FaultPlan } from "./faults.ts";
import { metricsApp, type PartitionSnapshot, type WriterSnapshot } from "./metrics.ts";
import { reconcilePartitions } from "./recovery.ts";
import { BronzeStage, type StagedFile, type StageTable, type StageTp } from "./stage-table.ts";
import { attemptDir, publishedFileName, tpDirValue } from "./staging.ts";

export interface BronzeWriterOptions {
  /** Topics to consume; each must map to a bronze dataset (see datasets.ts) or be routed. */
  readonly topics: readonly string[];
  /** Explicit topic → dataset routes, for topics the naming conventions do not place. */
  readonly routes?: ReadonlyMap<string, BronzeDataset>;
  /** Consumer group (default `config.lake.consumerGroup`). */
  readonly groupId?: string;
  readonly flushMs?: number;
  readonly flushRows?: number;
  /** Flush when this many bytes are buffered (default: a quarter of the memory budget). */
  readonly flushBytes?: number;
  /** Fetching pauses above this many buffered + in-flight bytes (default `config.lake.memoryBudgetMb`). */
  readonly memoryBudgetBytes?: number;
  /** Port for `/health` and `/metrics` (0: any free port; null: no server). Default `config.ports.lakeMetrics`. */
  readonly metricsPort?: number | null;
  /** Test-only: kill the process at protocol steps. */
  readonly faults?: FaultPlan;
  readonly logger?: Logger;
  /** Called after each commit record is published (benchmarks measure freshness with it). */
  readonly onCommit?: (record: AppendCommit) => void;
  /** Consumer group session timeout (the broker's minimum is usually 6 s). */
  readonly sessionTimeoutMs?: number;
  /** Staging-area sweep period for assigned partitions. */
  readonly sweepEveryMs?: number;
}

export interface BronzeWriterHandle {
  readonly writerId: string;
  /** `http://127.0.0.1:<port>` of `/health` and `/metrics`, when served. */
  readonly metricsUrl: string | undefined;
  snapshot(): WriterSnapshot;
  /** Graceful shutdown: pause fetching, flush and commit what is buffered, leave the group. */
  stop(): Promise<void>;
  /** Settles when the writer has stopped (rejects if the consumer crashed for good). */
  readonly done: Promise<void>;
}

/** Bytes counted per buffered row on top of key and value (staging columns, bookkeeping). */
const ROW_OVERHEAD_BYTES = 64;
const MAX_RECOVERY_BACKOFF_MS = 30_000;
const PUBLISH_CONCURRENCY = 8;
/** A full GC every this many appended rows bounds RSS (~10% CPU at 200k rows/s). */
const GC_EVERY_ROWS = 50_000;

interface PartitionState {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly ds: BronzeDataset;
  /** Bumped whenever buffered rows of the partition become invalid (revoked, resync). */
  epoch: number;
  recovered: boolean;
  /** Next offset to accept from Kafka. */
  next: number;
  /** `first_offset` of the partition's next commit record. */
  chainNext: bigint;
  /** Lake tip + 1 as last seen committed. */
  committedNext: bigint;
  highWatermark: number;
  rowsTotal: number;
  filesTotal: number;
  lastCommitAt: number;
  samples: Array<[number, number]>;
  fetchPaused: boolean;
}

interface GenTp extends StageTp {
  readonly key: string;
  readonly epoch: number;
  readonly ds: BronzeDataset;
  readonly first: bigint;
  last: number;
  rows: number;
}

interface Generation {
  readonly id: number;
  /** Staging tables by topic, created on first use (creation is async). */
  readonly tables: Map<string, Promise<StageTable>>;
  sealed: boolean;
  readonly tps: Map<string, GenTp>;
  firstRowAt: number;
  rows: number;
  bytes: number;
  nextTpId: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}/${partition}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts a bronze writer process member; resolves once it is consuming. */
export async function startBronzeWriter(
  config: Config,
  opts: BronzeWriterOptions,
): Promise<BronzeWriterHandle> {
  const writer = new BronzeWriter(config, opts);
  await writer.start();
  return writer;
}

class BronzeWriter implements BronzeWriterHandle {
  readonly writerId: string;
  metricsUrl: string | undefined;
  readonly done: Promise<void>;

  private readonly log: Logger;
  private readonly store: LakeStore;
  private readonly commits: CommitLog;
  private readonly datasets = new Map<string, BronzeDataset>();
  private readonly groupId: string;
  private readonly flushMs: number;
  private readonly flushRows: number;
  private readonly budget: number;
  private readonly flushBytes: number;
  private readonly faults: FaultInjector;
  /** Machine-local scratch (DuckDB spill, COPY output for S3 lakes). */
  private readonly tmpRoot: string;
  /** COPY output for local lakes: inside the lake, so placing a file into staging is a rename. */
  private readonly lakeTmpKey: string;
  private readonly consumer: Consumer;
  private readonly partitions = new Map<string, PartitionState>();
  private stage: BronzeStage | undefined;
  private gen: Generation | undefined;
  private genSeq = 0;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private inFlightBytes = 0;
  private globalPaused = false;
  private running = false;
  private stopping: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private server: ReturnType<typeof Bun.serve> | undefined;
  private lastSweep = Date.now();
  private rowsSinceGc = 0;
  private lastFlushOkAt = Date.now();
  private resolveDone: () => void = () => undefined;
  private rejectDone: (e: unknown) => void = () => undefined;
  private readonly fields: EventFields = { eventUs: Number.NaN, symbol: "" };
  private readonly counters = {
    commits: 0,
    files: 0,
    rows: 0,
    flushes: 0,
    flushFailures: 0,
    conflicts: 0,
    gaps: 0,
    fallbacks: 0,
    lastFlushSeconds: 0,
    lastFlushError: undefined as string | undefined,
  };

  constructor(
    private readonly config: Config,
    private readonly opts: BronzeWriterOptions,
  ) {
    this.writerId = `${process.pid.toString(36)}${randomBytes(4).toString("hex")}`;
    this.log = (opts.logger ?? createLogger("lake.bronze", config.logLevel)).child(this.writerId);
    if (opts.topics.length === 0) throw new Error("bronze writer: no topics to consume");
    for (const t of opts.topics)
      this.datasets.set(t, opts.routes?.get(t) ?? bronzeDatasetFor(t, config.cdc.topicPrefix));
    this.store = createLakeStore(config);
    this.commits = new CommitLog(this.store);
    this.groupId = opts.groupId ?? config.lake.consumerGroup;
    this.flushMs = opts.flushMs ?? config.lake.flushMs;
    this.flushRows = opts.flushRows ?? config.lake.flushRows;
    this.budget = opts.memoryBudgetBytes ?? config.lake.memoryBudgetMb * 1024 * 1024;
    this.flushBytes = opts.flushBytes ?? Math.max(1024 * 1024, Math.floor(this.budget / 4));
    this.faults = new FaultInjector(opts.faults);
    this.tmpRoot = join(config.stateDir, "lake-tmp", tmpDirName(this.writerId));
    this.lakeTmpKey = `${INTERNAL_DIR}/tmp/${tmpDirName(this.writerId)}`;
    this.consumer = createKafka(config.kafka, "lake").consumer({
      groupId: this.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.max(500, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 10)),
      maxWaitTimeInMs: Math.min(250, this.flushMs),
      // Fetch responses are decoded whole into the JS heap: keep them a small share of the budget.
      maxBytes: Math.max(1024 * 1024, Math.min(8 * 1024 * 1024, Math.floor(this.budget / 16))),
      maxBytesPerPartition: Math.max(256 * 1024, Math.min(1024 * 1024, Math.floor(this.budget / 64))),
      allowAutoTopicCreation: false,
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  async start(): Promise<void> {
    removeDeadTmpDirs(join(this.config.stateDir, "lake-tmp"));
    if (this.store.kind === "local") removeDeadTmpDirs(this.store.url(`${INTERNAL_DIR}/tmp`));
    mkdirSync(join(this.tmpRoot, "duckdb"), { recursive: true });
    this.stage = await BronzeStage.open({
      // DuckDB holds the staging tables (two generations at most) and the COPY's partition buffers:
      // 3/8 of the budget fits a 100,000-row flush without spilling (a quarter made the COPY spill and
      // cost 40% more CPU); it spills to tempDir if a burst needs more.
      memoryLimitMb: Math.max(48, Math.floor((this.budget * 3) / 8 / (1024 * 1024))),
      // One DuckDB thread COPYs while the JS thread keeps appending: the two cores of a small box both work.
      threads: 1,
      tempDir: join(this.tmpRoot, "duckdb"),
    });
    this.gen = this.newGeneration();
    if (this.opts.metricsPort !== null) {
      const app = metricsApp(() => this.snapshot());
      this.server = Bun.serve({
        port: this.opts.metricsPort ?? this.config.ports.lakeMetrics,
        hostname: "127.0.0.1",
        fetch: app.fetch,
      });
      this.metricsUrl = `http://127.0.0.1:${this.server.port}`;
    }
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => this.onAssignment(e.payload.memberAssignment));
    this.consumer.on(CRASH, (e) => {
      const { error, restart } = e.payload;
      this.log.error("consumer crashed", { error, restart });
      if (!restart) {
        this.running = false;
        this.rejectDone(error);
      }
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.datasets.keys()], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.running = true;
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.min(250, Math.floor(this.flushMs / 2))));
    this.log.info("bronze writer started", {
      group: this.groupId,
      topics: [...this.datasets.keys()],
      lake: this.store.root,
      flushMs: this.flushMs,
      flushRows: this.flushRows,
      budgetBytes: this.budget,
      metrics: this.metricsUrl,
    });
  }

  // ---- assignment and recovery --------------------------------------------------------------

  private onAssignment(assignment: Record<string, number[]>): void {
    const wanted = new Set<string>();
    for (const [topic, ps] of Object.entries(assignment)) for (const p of ps) wanted.add(tpKey(topic, p));
    for (const [k, st] of this.partitions) {
      if (!wanted.has(k)) {
        st.epoch += 1; // buffered rows of a revoked partition are never committed by us
        this.partitions.delete(k);
      }
    }
    const added = new Map<string, PartitionState[]>();
    for (const [topic, ps] of Object.entries(assignment)) {
      const ds = this.datasets.get(topic);
      if (ds === undefined) continue;
      for (const partition of ps) {
        const k = tpKey(topic, partition);
        if (this.partitions.has(k)) continue;
        const st: PartitionState = {
          key: k,
          topic,
          partition,
          ds,
          epoch: 0,
          recovered: false,
          next: 0,
          chainNext: 0n,
          committedNext: -1n,
          highWatermark: -1,
          rowsTotal: 0,
          filesTotal: 0,
          lastCommitAt: 0,
          samples: [],
          fetchPaused: false,
        };
        this.partitions.set(k, st);
        added.set(topic, [...(added.get(topic) ?? []), st]);
      }
    }
    this.log.info("assignment", {
      partitions: [...wanted],
      added: [...added.values()].flat().map((s) => s.key),
    });
    for (const [topic, sts] of added) this.recover(topic, sts, 0, 0);
  }

  /** Re-derives the partitions' position from the lake, then seeks Kafka there. Never throws. */
  private recover(topic: string, sts: readonly PartitionState[], delayMs: number, attempt: number): void {
    for (const st of sts) {
      st.epoch += 1;
      st.recovered = false;
    }
    this.syncPause();
    const epochs = sts.map((s) => s.epoch);
    const current = (): PartitionState[] =>
      sts.filter((s, i) => this.partitions.get(s.key) === s && s.epoch === epochs[i]);
    void (async () => {
      if (delayMs > 0) await sleep(delayMs);
      const live = current();
      if (live.length === 0 || this.stopping) return;
      const ds = live[0]?.ds as BronzeDataset;
      try {
        const result = await reconcilePartitions(
          this.store,
          this.commits,
          ds,
          topic,
          live.map((s) => s.partition),
          this.log,
        );
        for (const st of current()) {
          const resume = result.resume.get(st.partition) ?? 0n;
          st.next = safeOffset(resume);
          st.chainNext = resume;
          st.committedNext = resume;
          this.consumer.seek({ topic, partition: st.partition, offset: resume.toString() });
          st.recovered = true;
          this.log.info("partition resumes from the lake", {
            topic,
            partition: st.partition,
            offset: resume.toString(),
          });
        }
        this.syncPause();
      } catch (err) {
        const backoff = Math.min(MAX_RECOVERY_BACKOFF_MS, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log.warn("partition recovery failed, retrying", {
          topic,
          error: err,
          backoffMs: Math.round(backoff),
        });
        const again = current();
        if (again.length > 0) this.recover(topic, again, backoff, attempt + 1);
      }
    })();
  }

  /** Fetching is paused for partitions still recovering, and for all while over budget. */
  private syncPause(): void {
    for (const st of this.partitions.values()) {
      const want = this.globalPaused || !st.recovered;
      if (want === st.fetchPaused) continue;
      try {
        if (want) this.consumer.pause([{ topic: st.topic, partitions: [st.partition] }]);
        else this.consumer.resume([{ topic: st.topic, partitions: [st.partition] }]);
        st.fetchPaused = want;
      } catch (err) {
        this.log.debug("pause/resume refused", { partition: st.key, error: err });
      }
    }
  }

  // ---- buffering -----------------------------------------------------------------------------

  private async onBatch({ batch, resolveOffset, isStale, isRunning }: EachBatchPayload): Promise<void> {
    const first = this.partitions.get(tpKey(batch.topic, batch.partition));
    if (first === undefined) return;
    // The generation's table for this dataset; if a flush sealed the generation meanwhile, use the next one.
    let gen = this.gen as Generation;
    let table = await this.tableFor(gen, first.ds);
    while (gen !== this.gen) {
      gen = this.gen as Generation;
      table = await this.tableFor(gen, first.ds);
    }
    // From here to the end: synchronous, so no flush can seal the generation under our feet.
    const st = this.partitions.get(tpKey(batch.topic, batch.partition));
    // Not recovered yet: leave the batch unresolved; it is fetched again from the sought offset.
    if (st === undefined || !st.recovered || isStale() || !isRunning() || this.stopping) return;
    const genKey = `${st.key}#${st.epoch}`;
    let gt = gen.tps.get(genKey);
    if (gt === undefined) {
      gt = {
        id: gen.nextTpId++,
        key: st.key,
        epoch: st.epoch,
        ds: st.ds,
        topic: st.topic,
        partition: st.partition,
        first: st.chainNext,
        dir: tpDirValue(st.topic, st.partition, st.chainNext),
        last: -1,
        rows: 0,
      };
      gen.tps.set(genKey, gt);
    }
    const kraken = st.ds.kind === "kraken";
    const f = this.fields;
    const ingestedUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
    let rows = 0;
    let bytes = 0;
    for (const m of batch.messages) {
      const off = Number(m.offset);
      if (off < st.next) continue; // already in the lake, or already buffered
      if (off > st.next) this.counters.gaps += 1;
      if (kraken) krakenEventFields(m.value, m.key, f);
      else cdcEventFields(m.value, f);
      if (Number.isNaN(f.eventUs)) this.counters.fallbacks += 1;
      table.append(
        gt.id,
        st.partition,
        off,
        m.key,
        m.value,
        Number(m.timestamp),
        ingestedUs,
        f.eventUs,
        f.symbol,
      );
      gt.last = off;
      gt.rows += 1;
      rows += 1;
      bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0) + ROW_OVERHEAD_BYTES;
      st.next = off + 1;
    }
    st.highWatermark = Number(batch.highWatermark);
    resolveOffset(batch.lastOffset());
    // Decoded fetch responses are native memory the GC hardly counts as pressure (JSC sizes its heap
    // by the machine's RAM): collect every 50,000 rows, or RSS grows far past the buffered bytes.
    this.rowsSinceGc += rows;
    if (this.rowsSinceGc >= GC_EVERY_ROWS) {
      this.rowsSinceGc = 0;
      Bun.gc(true);
    }
    if (rows === 0) return;
    if (gen.rows === 0) gen.firstRowAt = Date.now();
    gen.rows += rows;
    gen.bytes += bytes;
    if (gen.bytes + this.inFlightBytes >= this.budget && !this.globalPaused) {
      this.globalPaused = true;
      this.syncPause();
      this.log.debug("memory budget reached, fetching paused", {
        buffered: gen.bytes,
        inFlight: this.inFlightBytes,
      });
    }
    if (this.flushDue()) this.requestFlush();
  }

  private flushDue(): boolean {
    const g = this.gen;
    if (g === undefined || g.rows === 0) return false;
    return (
      g.rows >= this.flushRows ||
      g.bytes >= this.flushBytes ||
      Date.now() - g.firstRowAt >= this.flushMs ||
      this.globalPaused
    );
  }

  private tick(): void {
    if (this.flushDue()) this.requestFlush();
  }

  private requestFlush(): void {
    if (this.stopping !== undefined && this.flushing === undefined) return;
    if (this.flushing !== undefined) {
      this.flushAgain = true;
      return;
    }
    this.flushing = this.runFlush()
      .catch((err) => this.log.error("flush failed", { error: err }))
      .finally(() => {
        this.flushing = undefined;
        if (this.globalPaused && (this.gen?.bytes ?? 0) < this.budget / 2 && this.stopping === undefined) {
          this.globalPaused = false;
          this.syncPause();
        }
        if (this.stopping === undefined && (this.flushAgain || this.flushDue())) {
          this.flushAgain = false;
          this.requestFlush();
        }
      });
  }

  private newGeneration(): Generation {
    this.genSeq += 1;
    return {
      id: this.genSeq,
      tables: new Map(),
      sealed: false,
      tps: new Map(),
      firstRowAt: 0,
      rows: 0,
      bytes: 0,
      nextTpId: 0,
    };
  }

  private tableFor(gen: Generation, ds: BronzeDataset): Promise<StageTable> {
    let table = gen.tables.get(ds.topic);
    if (table === undefined) {
      table = (this.stage as BronzeStage).newTable(ds);
      gen.tables.set(ds.topic, table);
    }
    return table;
  }

  // ---- flush: stage → commit record → publish → Kafka offsets --------------------------------

  private async runFlush(): Promise<void> {
    const stage = this.stage as BronzeStage;
    // Swap and seal in one synchronous step: no batch can append in between.
    const sealed = this.gen as Generation;
    this.gen = this.newGeneration();
    sealed.sealed = true;
    const included: GenTp[] = [];
    for (const gt of sealed.tps.values()) {
      const st = this.partitions.get(gt.key);
      if (st !== undefined && st.epoch === gt.epoch && gt.rows > 0) {
        included.push(gt);
        st.chainNext = BigInt(gt.last) + 1n;
      }
    }
    this.inFlightBytes = sealed.bytes;
    const started = performance.now();
    const tables = new Map<string, StageTable>();
    try {
      for (const [name, pending] of sealed.tables) {
        const table = await pending;
        table.seal();
        tables.set(name, table);
      }
      for (const [topic, table] of tables) {
        const tps = included.filter((t) => t.topic === topic);
        if (tps.length === 0) {
          await stage.drop(table);
          continue;
        }
        await this.flushDataset(sealed, table, tps);
      }
      this.counters.flushes += 1;
      this.counters.lastFlushSeconds = (performance.now() - started) / 1000;
      this.counters.lastFlushError = undefined;
      this.lastFlushOkAt = Date.now();
    } catch (err) {
      this.counters.flushFailures += 1;
      this.counters.lastFlushError = err instanceof Error ? err.message : String(err);
      for (const t of tables.values()) await stage.drop(t).catch(() => undefined);
      // Nothing of this flush is known to be committed: every partition re-reads from the lake.
      const byTopic = new Map<string, PartitionState[]>();
      for (const gt of included) {
        const st = this.partitions.get(gt.key);
        if (st !== undefined && st.epoch === gt.epoch)
          byTopic.set(st.topic, [...(byTopic.get(st.topic) ?? []), st]);
      }
      for (const [topic, sts] of byTopic) this.recover(topic, sts, 500, 1);
      throw err;
    } finally {
      this.inFlightBytes = 0;
    }
    if (Date.now() - this.lastSweep >= (this.opts.sweepEveryMs ?? 30_000)) {
      this.lastSweep = Date.now();
      await this.sweep().catch((err) => this.log.warn("staging sweep failed", { error: err }));
    }
  }

  private async flushDataset(gen: Generation, table: StageTable, tps: readonly GenTp[]): Promise<void> {
    const stage = this.stage as BronzeStage;
    const ds = tps[0]?.ds as BronzeDataset;
    const attempt = `${this.writerId}-${gen.id}`;
    const stagingKey = attemptDir(ds, attempt);
    const local = this.store.kind === "local";
    // DuckDB writes into a directory private to this process (reaped by pid if it dies), so a
    // crash mid-COPY leaves nothing in the shared staging area.
    const copyDir = local
      ? this.store.url(`${this.lakeTmpKey}/${attempt}`)
      : join(this.tmpRoot, "stage", attempt);
    try {
      const disarm = this.faults.armDuring("mid-copy");
      let files: StagedFile[];
      try {
        files = await stage.copyToStaging(table, tps, copyDir);
      } finally {
        disarm();
      }
      const stagedKeyOf = (f: StagedFile): string => `${stagingKey}/${f.relPath}`;
      if (local) {
        const made = new Set<string>();
        for (const f of files) {
          const to = this.store.url(stagedKeyOf(f));
          if (!made.has(dirname(to))) mkdirSync(dirname(to), { recursive: true });
          made.add(dirname(to));
          renameSync(f.localPath, to);
        }
      } else {
        await mapBounded(files, PUBLISH_CONCURRENCY, (f) => this.store.putFile(f.localPath, stagedKeyOf(f)));
      }
      this.faults.hit("after-stage");

      const records: AppendCommit[] = [];
      for (const gt of tps) {
        const mine = files.filter((f) => f.tpDir === gt.dir);
        const rows = mine.reduce((n, f) => n + f.rows, 0);
        if (rows !== gt.rows) throw new Error(`staged ${rows} rows for ${gt.key} but buffered ${gt.rows}`);
        const committed: CommittedFile[] = mine.map((f, n) => ({
          path: `${ds.layer}/${ds.name}/${f.hivePath}/${publishedFileName(gt.topic, gt.partition, gt.first, n)}`,
          rows: f.rows,
          bytes: f.bytes,
          partition: f.partition,
        }));
        records.push({
          v: COMMIT_LOG_VERSION,
          id: appendCommitId(gt.topic, gt.partition, gt.first),
          kind: "append",
          layer: ds.layer,
          dataset: ds.name,
          topic: gt.topic,
          partition: gt.partition,
          first_offset: gt.first.toString(),
          last_offset: String(gt.last),
          rows,
          files: committed,
          committed_at: nowRfc3339(),
          writer: attempt,
          staged: mine.map(stagedKeyOf),
        });
      }

      // Commit point: one exclusive record per topic-partition.
      const outcomes = await Promise.allSettled(records.map((r) => this.commits.append(ds, r)));
      const won: AppendCommit[] = [];
      const failures: unknown[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as AppendCommit;
        const o = outcomes[i] as PromiseSettledResult<void>;
        const st = this.partitions.get(tpKey(r.topic, r.partition));
        if (o.status === "fulfilled") {
          won.push(r);
          continue;
        }
        if (o.reason instanceof CommitConflictError) {
          this.counters.conflicts += 1;
          this.log.warn("another writer committed this range first; re-reading the partition from the lake", {
            record: r.id,
          });
          await mapBounded(r.staged, PUBLISH_CONCURRENCY, (k) => this.store.delete(k));
        } else {
          failures.push(o.reason);
        }
        if (st !== undefined)
          this.recover(st.topic, [st], o.reason instanceof CommitConflictError ? 0 : 500, 1);
      }
      this.faults.hit("after-commit-record");

      // Publish: move every committed file into the tree.
      let moved = 0;
      await mapBounded(
        won.flatMap((r) => r.files.map((f, i) => [r.staged[i] as string, f.path] as const)),
        PUBLISH_CONCURRENCY,
        async ([from, to]) => {
          await this.store.move(from, to);
          moved += 1;
          if (moved === 1) this.faults.hit("mid-publish");
        },
      );
      this.faults.hit("after-publish");

      const offsets = won.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: (BigInt(r.last_offset) + 1n).toString(),
      }));
      if (offsets.length > 0) {
        // Kafka's offset is informative only (lag tools); the lake's log decides where to resume.
        await this.consumer
          .commitOffsets(offsets)
          .catch((err) => this.log.debug("offset commit refused", { error: err }));
      }
      this.faults.hit("after-offset-commit");

      const now = Date.now();
      for (const r of won) {
        const st = this.partitions.get(tpKey(r.topic, r.partition));
        this.counters.commits += 1;
        this.counters.files += r.files.length;
        this.counters.rows += r.rows;
        if (st !== undefined) {
          st.committedNext = BigInt(r.last_offset) + 1n;
          st.rowsTotal += r.rows;
          st.filesTotal += r.files.length;
          st.lastCommitAt = now;
          st.samples.push([now, st.rowsTotal]);
          if (st.samples.length > 64) st.samples.shift();
        }
        this.opts.onCommit?.(r);
      }
      if (failures.length > 0) throw failures[0];
      // Local: the staging dir now holds only empty directories. On any failure above it stays:
      // committed files still staged there are rolled forward by recovery.
      if (local) rmSync(this.store.url(stagingKey), { recursive: true, force: true });
    } finally {
      rmSync(copyDir, { recursive: true, force: true });
    }
  }

  /** Periodic cleanup of staging garbage for the partitions this writer owns. */
  private async sweep(): Promise<void> {
    const byTopic = new Map<string, PartitionState[]>();
    for (const st of this.partitions.values())
      if (st.recovered) byTopic.set(st.topic, [...(byTopic.get(st.topic) ?? []), st]);
    for (const [topic, sts] of byTopic) {
      const ds = sts[0]?.ds as BronzeDataset;
      await reconcilePartitions(
        this.store,
        this.commits,
        ds,
        topic,
        sts.map((s) => s.partition),
        this.log,
        new Map(sts.map((s) => [s.partition, s.chainNext])),
      );
    }
  }

  // ---- visibility and shutdown ---------------------------------------------------------------

  snapshot(): WriterSnapshot {
    const now = Date.now();
    const partitions: PartitionSnapshot[] = [...this.partitions.values()]
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((st) => {
        const old = st.samples.find(([t]) => now - t <= 10_000) ?? st.samples.at(-1);
        const span = old === undefined ? 0 : (now - old[0]) / 1000;
        const committed = Number(st.committedNext);
        return {
          topic: st.topic,
          partition: st.partition,
          dataset: st.ds.name,
          committedNext: committed,
          highWatermark: st.highWatermark,
          lag: st.highWatermark < 0 || committed < 0 ? 0 : Math.max(0, st.highWatermark - committed),
          rowsTotal: st.rowsTotal,
          rowsPerSecond:
            old === undefined || span <= 0 ? 0 : Math.round((st.rowsTotal - old[1]) / Math.max(span, 1)),
          filesTotal: st.filesTotal,
          lastCommitAgeSeconds: st.lastCommitAt === 0 ? -1 : (now - st.lastCommitAt) / 1000,
        };
      });
    const g = this.gen;
    const waiting = (g?.rows ?? 0) > 0 || this.inFlightBytes > 0;
    return {
      running: this.running && this.stopping === undefined,
      groupId: this.groupId,
      writerId: this.writerId,
      partitions,
      bufferedRows: g?.rows ?? 0,
      bufferedBytes: g?.bytes ?? 0,
      inFlightBytes: this.inFlightBytes,
      memoryBudgetBytes: this.budget,
      paused: this.globalPaused,
      commitsTotal: this.counters.commits,
      filesTotal: this.counters.files,
      rowsTotal: this.counters.rows,
      flushesTotal: this.counters.flushes,
      flushFailuresTotal: this.counters.flushFailures,
      commitConflictsTotal: this.counters.conflicts,
      offsetGapsTotal: this.counters.gaps,
      eventTimeFallbacksTotal: this.counters.fallbacks,
      lastFlushSeconds: this.counters.lastFlushSeconds,
      lastFlushError: this.counters.lastFlushError,
      stalledSeconds: waiting ? (now - this.lastFlushOkAt) / 1000 : 0,
    };
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.globalPaused = true;
    this.syncPause();
    try {
      await this.flushing;
      if ((this.gen?.rows ?? 0) > 0) {
        this.flushing = this.runFlush();
        await this.flushing;
      }
    } catch (err) {
      this.log.error("final flush failed; the rows stay in Kafka and are written on the next start", {
        error: err,
      });
    } finally {
      this.flushing = undefined;
      await this.consumer
        .disconnect()
        .catch((err) => this.log.warn("consumer disconnect failed", { error: err }));
      this.running = false;
      this.server?.stop(true);
      this.stage?.close();
      rmSync(this.tmpRoot, { recursive: true, force: true });
      this.log.info("bronze writer stopped", { rows: this.counters.rows, commits: this.counters.commits });
      this.resolveDone();
    }
  }
}

function safeOffset(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`Kafka offset ${offset} is beyond 2^53; not supported`);
  return Number(offset);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const item = items[i++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/** `<pid>-<writer>-<host>`: a writer's temporary directory, reapable once the process is gone. */
function tmpDirName(writerId: string): string {
  return `${process.pid}-${writerId}-${hostname().replace(/[^A-Za-z0-9.]/g, "_")}`;
}

/**
 * Removes temporary dirs of writer processes of this host that no longer run (a lake on a shared
 * disk may hold other hosts' dirs: those are left to their own writers).
 */
function removeDeadTmpDirs(root: string): void {
  if (!existsSync(root)) return;
  const host = hostname().replace(/[^A-Za-z0-9.]/g, "_");
  for (const name of readdirSync(root)) {
    const [pidText, writer, ...rest] = name.split("-");
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0 || writer === undefined) continue;
    if (rest.length > 0 && rest.join("-") !== host) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(root, name), { recursive: true, force: true });
  }
}
