/**
 * (Over 600 lines: the consume loop's buffering, flush scheduling, memory budget and lifecycle share one
 * mutable state; the commit protocol, partition assignment and buffer generations live apart.)
 *
 * The bronze writer: a kafkajs consumer group member that appends every record of its assigned
 * topic-partitions (assignment.ts) into DuckDB staging tables (generation.ts, stage-table.ts) and
 * flushes them to bronze Parquet exactly once per offset (docs/exactly-once.md).
 *
 * Flow per record: eachBatch → StageTable.append (DuckDB data chunks) → flush on rows/bytes/time →
 * COPY to a private directory → the commit protocol (commit-protocol.ts: place into lake staging →
 * commit record → publish → offsets). Buffering continues while a flush runs (one flush at a time);
 * fetching pauses when buffered + in-flight bytes exceed the memory budget.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { type HealthCheck, healthReport, StallWatch } from "@tributary/shared/health";
import { createKafka } from "@tributary/shared/kafka";
import { type AppendCommit, CommitLog } from "@tributary/shared/lake/commit-log";
import type { IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import { checkLakeWritable, createLakeStore, type LakeStore } from "@tributary/shared/lake/store";
import { createLogger, type Logger } from "@tributary/shared/log";
import type { Consumer, EachBatchPayload } from "kafkajs";
import { AssignedPartitions, type PartitionState, tpKey } from "./assignment.ts";
import { BronzeCommitProtocol } from "./commit-protocol.ts";
import { type BronzeDataset, bronzeDatasetFor } from "./datasets.ts";
import { cdcEventFields, type EventFields, krakenEventFields } from "./event-time.ts";
import { FaultInjector, type FaultPlan } from "./faults.ts";
import { type Generation, type GenTp, newGeneration, tableFor } from "./generation.ts";
import { KafkaOffsets } from "./kafka-offsets.ts";
import { metricsApp, type WriterSnapshot } from "./metrics.ts";
import { BronzeStage, type StagedFile, type StageTable } from "./stage-table.ts";
import { tpDirValue } from "./staging.ts";
import { BronzeTableCommitter, snapshotOffsets } from "./table-commit.ts";
import { removeDeadTmpDirs, tmpDirName } from "./tmp-dirs.ts";

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
  /** Iceberg commit interval (default `config.lake.icebergCommitMs`; 0: no table commits). */
  readonly tableCommitMs?: number;
  /** Called after each Iceberg append snapshot with its `tributary.offsets` (benchmarks measure freshness). */
  readonly onTableCommit?: (offsets: Readonly<Record<string, string>>) => void;
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
const PUBLISH_CONCURRENCY = 8;
/** A full GC every this many appended rows bounds RSS (~10% CPU at 200k rows/s). */
const GC_EVERY_ROWS = 50_000;

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
  private readonly protocol: BronzeCommitProtocol;
  private readonly kafkaOffsets: KafkaOffsets;
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
  private readonly partitions: AssignedPartitions;
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
  private readonly tableCommitMs: number;
  private lastTableCommit = Date.now();
  /** The log commits count when the last table round started (no round while it is unchanged). */
  private commitsInTable = -1;
  private tableCommitting: Promise<void> | undefined;
  /** The configured Iceberg catalog (ICEBERG_REST_URI, else the embedded one). */
  private readonly catalog: IcebergCatalog;
  private readonly committers = new Map<string, BronzeTableCommitter>();
  private rowsSinceGc = 0;
  /** Progress: a commit with rows while rows or lag wait; a fetch from Kafka while running. */
  private readonly commitWatch: StallWatch;
  private readonly fetchWatch: StallWatch;
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
    tableCommits: 0,
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
    this.catalog = openCatalog(config, this.store);
    this.commits = new CommitLog(this.store);
    this.groupId = opts.groupId ?? config.lake.consumerGroup;
    this.flushMs = opts.flushMs ?? config.lake.flushMs;
    this.tableCommitMs = opts.tableCommitMs ?? config.lake.icebergCommitMs;
    this.flushRows = opts.flushRows ?? config.lake.flushRows;
    this.budget = opts.memoryBudgetBytes ?? config.lake.memoryBudgetMb * 1024 * 1024;
    this.flushBytes = opts.flushBytes ?? Math.max(1024 * 1024, Math.floor(this.budget / 4));
    this.faults = new FaultInjector(opts.faults);
    this.commitWatch = new StallWatch("commit with rows", config.health.stallAfterMs);
    this.fetchWatch = new StallWatch("fetch from Kafka", config.health.stallAfterMs);
    this.protocol = new BronzeCommitProtocol({
      store: this.store,
      commits: this.commits,
      log: this.log,
      commitOffsets: (offsets) => this.kafkaOffsets.commit(offsets),
      hit: (point) => this.faults.hit(point),
      concurrency: PUBLISH_CONCURRENCY,
    });
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
    this.kafkaOffsets = new KafkaOffsets({
      // kafkajs returns without committing when its consumer is not running: say so instead.
      commit: (offsets) =>
        this.running
          ? this.consumer.commitOffsets([...offsets])
          : Promise.reject(new Error("the consumer is not running")),
      partitions: () => this.partitions.values(),
      lakePosition: (topic, partition) =>
        this.commits.resumeOffset(this.datasets.get(topic) as BronzeDataset, topic, partition),
      log: this.log,
    });
    this.partitions = new AssignedPartitions({
      consumer: this.consumer,
      store: this.store,
      commits: this.commits,
      log: this.log,
      datasets: this.datasets,
      stopping: () => this.stopping !== undefined,
      paused: () => this.globalPaused,
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  async start(): Promise<void> {
    await checkLakeWritable(this.store, `bronze-${this.writerId}`);
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
    this.gen = newGeneration(++this.genSeq);
    if (this.opts.metricsPort !== null) {
      const app = metricsApp(() => this.snapshot());
      this.server = Bun.serve({
        port: this.opts.metricsPort ?? this.config.ports.lakeMetrics,
        hostname: "127.0.0.1",
        fetch: app.fetch,
      });
      this.metricsUrl = `http://127.0.0.1:${this.server.port}`;
    }
    const { GROUP_JOIN, CRASH, FETCH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.kafkaOffsets.reset();
      this.partitions.assign(e.payload.memberAssignment);
    });
    this.consumer.on(FETCH, () => this.fetchWatch.progressed());
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

  // ---- buffering -----------------------------------------------------------------------------

  private async onBatch({ batch, resolveOffset, isStale, isRunning }: EachBatchPayload): Promise<void> {
    const first = this.partitions.get(tpKey(batch.topic, batch.partition));
    if (first === undefined) return;
    // The generation's table for this dataset; if a flush sealed the generation meanwhile, use the next one.
    let gen = this.gen as Generation;
    let table = await tableFor(this.stage as BronzeStage, gen, first.ds);
    while (gen !== this.gen) {
      gen = this.gen as Generation;
      table = await tableFor(this.stage as BronzeStage, gen, first.ds);
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
      this.partitions.syncPause();
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
    // The stall clocks start when work begins to wait, not when someone first asks /health.
    this.progressChecks(this.partitions.snapshot(Date.now()));
    if (this.flushDue()) this.requestFlush();
    // When the data stops, the last flushes still reach the table within one interval.
    if (this.tableCommitDue()) void this.commitTables();
    // Offsets a refused commit left behind the lake (and a recovered lake position) reach Kafka.
    if (this.stopping === undefined) this.kafkaOffsets.tick();
  }

  private tableCommitDue(): boolean {
    return (
      this.tableCommitMs > 0 &&
      this.stopping === undefined &&
      this.counters.commits !== this.commitsInTable &&
      Date.now() - this.lastTableCommit >= this.tableCommitMs
    );
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
          this.partitions.syncPause();
        }
        if (this.stopping === undefined && (this.flushAgain || this.flushDue())) {
          this.flushAgain = false;
          this.requestFlush();
        }
      });
  }

  // ---- flush: stage → commit record → publish → Kafka offsets --------------------------------

  private async runFlush(): Promise<void> {
    const stage = this.stage as BronzeStage;
    // Swap and seal in one synchronous step: no batch can append in between.
    const sealed = this.gen as Generation;
    this.gen = newGeneration(++this.genSeq);
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
      if (included.length > 0) this.commitWatch.progressed();
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
      for (const [topic, sts] of byTopic) this.partitions.recover(topic, sts, 500, 1);
      throw err;
    } finally {
      this.inFlightBytes = 0;
    }
    if (this.tableCommitDue()) void this.commitTables();
    if (Date.now() - this.lastSweep >= (this.opts.sweepEveryMs ?? 30_000)) {
      this.lastSweep = Date.now();
      await this.partitions.sweep().catch((err) => this.log.warn("staging sweep failed", { error: err }));
    }
  }

  private async flushDataset(gen: Generation, table: StageTable, tps: readonly GenTp[]): Promise<void> {
    const stage = this.stage as BronzeStage;
    const ds = tps[0]?.ds as BronzeDataset;
    const attempt = `${this.writerId}-${gen.id}`;
    // DuckDB writes into a directory private to this process (reaped by pid if it dies), so a
    // crash mid-COPY leaves nothing in the shared staging area.
    const copyDir =
      this.store.kind === "local"
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
      const outcome = await this.protocol.commit(ds, attempt, files, tps);
      const now = Date.now();
      for (const r of outcome.committed) {
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
      this.counters.conflicts += outcome.conflicts.length;
      // Ranges this writer did not commit are re-read from the lake (at once after a lost race).
      for (const [r, delayMs] of [
        ...outcome.conflicts.map((r) => [r, 0] as const),
        ...outcome.failed.map((f) => [f.record, 500] as const),
      ]) {
        const st = this.partitions.get(tpKey(r.topic, r.partition));
        if (st !== undefined) this.partitions.recover(st.topic, [st], delayMs, 1);
      }
      if (outcome.failed.length > 0) throw outcome.failed[0]?.error;
    } finally {
      rmSync(copyDir, { recursive: true, force: true });
    }
  }

  /** Periodic cleanup of staging garbage for the partitions this writer owns. */
  /**
   * Commits the log's new records to each dataset's Iceberg table (docs/exactly-once.md): in the
   * background, one round at a time, so a slow catalog never holds up a flush.
   */
  private commitTables(): Promise<void> {
    if (this.tableCommitting !== undefined) return this.tableCommitting;
    this.lastTableCommit = Date.now();
    const commits = this.counters.commits;
    this.tableCommitting = (async () => {
      for (const ds of this.datasets.values()) {
        let committer = this.committers.get(ds.name);
        if (committer === undefined) {
          committer = new BronzeTableCommitter(this.store, this.commits, this.catalog, ds, ds.kind);
          this.committers.set(ds.name, committer);
        }
        this.faults.hit("before-table-commit");
        const result = await committer.commit();
        if (result.appended !== undefined) {
          this.counters.tableCommits += 1;
          this.opts.onTableCommit?.(snapshotOffsets(result.appended));
        }
        this.faults.hit("after-table-commit");
      }
      this.commitsInTable = commits;
    })()
      .catch((err) => this.log.warn("Iceberg table commit failed; the next round retries", { error: err }))
      .finally(() => {
        this.tableCommitting = undefined;
      });
    return this.tableCommitting;
  }

  // ---- visibility and shutdown ---------------------------------------------------------------

  snapshot(): WriterSnapshot {
    const now = Date.now();
    const partitions = this.partitions.snapshot(now);
    const g = this.gen;
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
      health: healthReport(this.progressChecks(partitions)),
    };
  }

  /** Tells the stall watches what waits now and returns their verdicts. */
  private progressChecks(partitions: WriterSnapshot["partitions"]): {
    commits: HealthCheck;
    kafka: HealthCheck;
  } {
    const g = this.gen;
    const lag = partitions.reduce((sum, p) => sum + p.lag, 0);
    const rows = (g?.rows ?? 0) + (this.inFlightBytes > 0 ? 1 : 0);
    // A failed flush drops its rows to re-read them: the failure itself is work still waiting.
    const failing = this.counters.lastFlushError !== undefined;
    const commits = this.commitWatch
      .waiting(rows > 0 || lag > 0 || failing)
      .check(
        failing
          ? `flushes fail (${this.counters.lastFlushError?.slice(0, 200)})`
          : `lag ${lag} records, ${g?.rows ?? 0} rows buffered`,
      );
    // A member with no partition assigned (more writers than partitions) has nothing to fetch.
    const kafka = this.fetchWatch
      .waiting(this.running && partitions.length > 0)
      .check(`${partitions.length} partitions assigned`);
    return { commits, kafka };
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.globalPaused = true;
    this.partitions.syncPause();
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
      if (this.tableCommitMs > 0) {
        await this.tableCommitting;
        await this.commitTables();
      }
      await this.kafkaOffsets.flush();
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
