/**
 * A progress bar for long commands (backfills). On a terminal it redraws one line in place; on a
 * pipe or in CI it prints plain lines, at most one per `plainEveryMs`, plus the final one.
 */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressBar {
  update(done: number, note?: string): void;
  /** Prints the final state (and ends the line on a terminal). */
  finish(done: number, note?: string): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly sink?: ProgressSink;
  readonly now?: () => number;
  readonly plainEveryMs?: number;
}

export function createProgressBar(options: ProgressOptions): ProgressBar {
  const sink = options.sink ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = sink.isTTY === true;
  const started = now();
  const plainEveryMs = options.plainEveryMs ?? 1000;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastDone = -1;
  let finished = false;

  const line = (done: number, note?: string): string => {
    const total = Math.max(options.total, 0);
    const ratio = total === 0 ? 1 : Math.min(done / total, 1);
    const elapsed = now() - started;
    const eta = done > 0 && done < total ? formatDuration((elapsed / done) * (total - done)) : "";
    const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
    const counts = `${done}/${total}`;
    const tail = [pct, counts, `elapsed ${formatDuration(elapsed)}`, eta && `eta ${eta}`, note]
      .filter(Boolean)
      .join(" ");
    if (!tty) return `${options.label} ${tail}`;
    const width = 24;
    const filled = Math.round(ratio * width);
    const bar = `[${"█".repeat(filled)}${"░".repeat(width - filled)}]`;
    const text = `${options.label} ${bar} ${tail}`;
    const columns = sink.columns ?? 120;
    return text.length > columns - 1 ? text.slice(0, columns - 1) : text;
  };

  return {
    update(done, note) {
      if (finished) return;
      const t = now();
      if (tty) {
        if (t - lastDraw < 100 && done !== options.total) return;
        lastDraw = t;
        sink.write(`\r\x1b[2K${line(done, note)}`);
        return;
      }
      if (done === lastDone || (t - lastDraw < plainEveryMs && done !== options.total)) return;
      lastDraw = t;
      lastDone = done;
      sink.write(`${line(done, note)}\n`);
    },
    finish(done, note) {
      if (finished) return;
      finished = true;
      if (tty) sink.write(`\r\x1b[2K${line(done, note)}\n`);
      else if (done !== lastDone || note) sink.write(`${line(done, note)}\n`);
    },
  };
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, "0")}m`;
}
