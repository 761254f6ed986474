/**
 * Executes one notebook in a child `bun` process with a timeout and collects, per cell, its streams,
 * displays and error. Cells after a failing one are reported as not run.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { formatMicros, nowMicros } from "@tributary/shared/time";
import type { CellOutput, ExecutedCell, NotebookRunInfo } from "../format/ipynb.ts";
import { parsePercent, type SourceCell } from "../format/percent.ts";
import type { LakeAsOf } from "../kit/lake.ts";
import { buildProgram } from "./program.ts";
import { type ChildMessage, decodeMessages } from "./protocol.ts";

export interface ExecuteOptions {
  readonly timeoutMs: number;
  readonly params?: Readonly<Record<string, string>>;
  /** The snapshots the notebook's lake sessions read (`--as-of`); default: the current ones. */
  readonly asOf?: LakeAsOf;
  /** Environment of the child (defaults to this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** How often the side channel is polled for progress. */
  readonly pollMs?: number;
}

export type ProgressEvent =
  | {
      readonly kind: "cell-start";
      readonly notebook: string;
      readonly cell: SourceCell;
      readonly ordinal: number;
      readonly total: number;
    }
  | {
      readonly kind: "cell-end";
      readonly notebook: string;
      readonly cell: SourceCell;
      readonly ordinal: number;
      readonly total: number;
      readonly status: "ok" | "error";
      readonly durationMs: number;
    };

export interface NotebookExecution {
  readonly path: string;
  readonly run: NotebookRunInfo;
  readonly cells: readonly ExecutedCell[];
  readonly timedOut: boolean;
  readonly exitCode: number | null;
}

const CHILD = resolve(import.meta.dir, "child.ts");

interface CellState {
  started: boolean;
  startAt: number;
  endAt: number;
  outputs: CellOutput[];
  error: boolean;
  executionCount: number | null;
}

export async function executeNotebook(path: string, options: ExecuteOptions): Promise<NotebookExecution> {
  const notebookPath = resolve(path);
  const name = basename(notebookPath).replace(/\.ts$/, "");
  const text = readFileSync(notebookPath, "utf8");
  const cells = parsePercent(text);
  const codeCells = cells.flatMap((c, i) => (c.type === "code" ? [i] : []));
  const states: CellState[] = cells.map(() => ({
    started: false,
    startAt: 0,
    endAt: 0,
    outputs: [],
    error: false,
    executionCount: null,
  }));
  const runDir = join(dirname(notebookPath), ".run");
  mkdirSync(runDir, { recursive: true });
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const programPath = join(runDir, `${name}.${stamp}.ts`);
  const channelDir = mkdtempSync(join(tmpdir(), "tributary-nb-"));
  const channelPath = join(channelDir, "channel.jsonl");
  writeFileSync(programPath, buildProgram(text, cells, notebookPath));
  writeFileSync(channelPath, "");

  const startedMicros = nowMicros();
  const started = Date.now();
  let params: Readonly<Record<string, unknown>> = { ...(options.params ?? {}) };
  const snapshots: Record<string, string> = {};
  let current = -1;
  let executed = 0;
  let done = false;

  const ordinal = (cell: number): number => codeCells.indexOf(cell) + 1;
  const target = (cell: number): CellState | undefined => {
    const i = cell >= 0 ? cell : (codeCells[0] ?? -1);
    return states[i];
  };
  const finishCell = (at: number): void => {
    const state = states[current];
    const cell = cells[current];
    if (!state || !cell || state.endAt !== 0) return;
    state.endAt = at;
    options.onProgress?.({
      kind: "cell-end",
      notebook: name,
      cell,
      ordinal: ordinal(current),
      total: codeCells.length,
      status: state.error ? "error" : "ok",
      durationMs: at - state.startAt,
    });
  };
  const handle = (m: ChildMessage): void => {
    switch (m.t) {
      case "cell": {
        finishCell(m.at);
        current = m.cell;
        const state = states[m.cell];
        const cell = cells[m.cell];
        if (!state || !cell) return;
        state.started = true;
        state.startAt = m.at;
        executed += 1;
        state.executionCount = executed;
        options.onProgress?.({
          kind: "cell-start",
          notebook: name,
          cell,
          ordinal: ordinal(m.cell),
          total: codeCells.length,
        });
        return;
      }
      case "stream":
        appendStream(target(m.cell), m.name, m.text);
        return;
      case "display":
        target(m.cell)?.outputs.push({ output_type: "display_data", data: m.data, metadata: m.metadata });
        return;
      case "params":
        params = m.values;
        return;
      case "snapshots":
        Object.assign(snapshots, m.tables);
        return;
      case "error": {
        const state = target(m.cell);
        if (!state) return;
        state.error = true;
        state.started = true;
        state.outputs.push({
          output_type: "error",
          ename: m.ename,
          evalue: m.evalue,
          traceback: m.traceback,
        });
        return;
      }
      case "done":
        finishCell(m.at);
        done = true;
        return;
    }
  };

  const channel = new ChannelReader(channelPath);
  const child = Bun.spawn(
    [
      process.execPath,
      CHILD,
      programPath,
      channelPath,
      notebookPath,
      JSON.stringify(options.params ?? {}),
      JSON.stringify(options.asOf ?? null),
    ],
    {
      cwd: options.cwd ?? process.cwd(),
      env: { ...(options.env ?? process.env) },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const rawStdout = new Response(child.stdout).text();
  const rawStderr = new Response(child.stderr).text();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const poll = setInterval(() => {
    for (const m of channel.read()) handle(m);
  }, options.pollMs ?? 100);
  let exitCode: number | null;
  try {
    exitCode = await child.exited;
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
  }
  for (const m of channel.read()) handle(m);
  channel.close();
  const [outText, errText] = await Promise.all([rawStdout, rawStderr]);
  const last = target(current);
  // Whatever bypassed the captured console (native code, the runtime itself) still belongs to the run.
  appendStream(last, "stdout", outText);
  appendStream(last, "stderr", errText);

  const hasError = states.some((s) => s.error);
  if (timedOut) {
    const state = target(current);
    if (state) {
      state.error = true;
      state.outputs.push({
        output_type: "error",
        ename: "TimeoutError",
        evalue: `notebook exceeded its ${Math.round(options.timeoutMs / 1000)} s timeout; the run was stopped in this cell`,
        traceback: [`TimeoutError: notebook ${name} exceeded ${options.timeoutMs} ms`],
      });
    }
  } else if (!done && !hasError) {
    const state = target(current);
    if (state) {
      state.error = true;
      state.outputs.push({
        output_type: "error",
        ename: "ProcessExit",
        evalue: `the notebook process exited with code ${exitCode} before finishing`,
        traceback: [`ProcessExit: exit code ${exitCode}`],
      });
    }
  }
  if (!done || timedOut) finishCell(Date.now());

  rmSync(programPath, { force: true });
  rmSync(channelDir, { recursive: true, force: true });
  removeIfEmpty(runDir);

  const executedCells: ExecutedCell[] = cells.map((cell, i) => {
    const s = states[i] as CellState;
    return {
      cell,
      status: cell.type !== "code" ? "ok" : s.error ? "error" : s.started ? "ok" : "not-run",
      executionCount: cell.type === "code" ? s.executionCount : null,
      outputs: s.outputs,
      durationMs: s.started && s.endAt > 0 ? s.endAt - s.startAt : 0,
    };
  });
  const ok = !timedOut && done && exitCode === 0 && !executedCells.some((c) => c.status === "error");
  return {
    path: notebookPath,
    run: {
      name,
      startedAt: formatMicros(startedMicros),
      durationMs: Date.now() - started,
      params,
      ok,
      snapshots,
      ...(options.asOf ? { asOf: options.asOf } : {}),
    },
    cells: executedCells,
    timedOut,
    exitCode,
  };
}

function appendStream(state: CellState | undefined, name: "stdout" | "stderr", text: string): void {
  if (!state || text === "") return;
  const prev = state.outputs[state.outputs.length - 1];
  if (prev && prev.output_type === "stream" && prev.name === name) {
    state.outputs[state.outputs.length - 1] = { ...prev, text: prev.text + text };
  } else {
    state.outputs.push({ output_type: "stream", name, text });
  }
}

/** Reads the channel file incrementally. */
class ChannelReader {
  private readonly fd: number;
  private offset = 0;
  private rest = "";
  private readonly decoder = new TextDecoder();
  private readonly buffer = Buffer.alloc(1 << 16);

  constructor(path: string) {
    this.fd = openSync(path, "r");
  }

  read(): ChildMessage[] {
    let text = this.rest;
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      text += this.decoder.decode(this.buffer.subarray(0, n), { stream: true });
    }
    const { messages, rest } = decodeMessages(text);
    this.rest = rest;
    return messages;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function removeIfEmpty(dir: string): void {
  try {
    if (existsSync(dir)) rmdirSync(dir);
  } catch {
    // Another run still has a program there.
  }
}
