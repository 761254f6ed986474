/**
 * The kernel's executor process: holds the notebook's state on `globalThis` and runs cells one at a
 * time (`bun executor.ts`, spawned by the kernel with an IPC channel, in the notebook's folder).
 * A synchronous runaway cell is stopped by SIGINT (`breakOnSigint`); a cell waiting on a promise is
 * abandoned on SIGINT; either way the process and its variables stay.
 */
import vm from "node:vm";
import { toBundle } from "../kit/display.ts";
import { captureOutputs, describeError } from "../runner/capture.ts";
import { resolveSpecifiers } from "../runner/specifiers.ts";
import { complete, inspect } from "./introspect.ts";
import type { CellStatus, FromExecutor, ToExecutor } from "./protocol.ts";
import { CellSyntaxError, HELPERS_KEY, transformCell } from "./repl.ts";
import { toJson } from "./wire.ts";

type Send = (message: FromExecutor) => void;

const send: Send = (message) => {
  process.send?.(toJson(message));
};

/** `await using` values of top-level cells: disposed when the kernel shuts down, not at cell end. */
const kept: unknown[] = [];
const globals = globalThis as unknown as Record<string, unknown>;
globals[HELPERS_KEY] = {
  declare(names: readonly string[]): void {
    for (const n of names) if (!(n in globalThis)) globals[n] = undefined;
  },
  bind(ns: Record<string, unknown>, bindings: readonly (readonly [string, string])[]): void {
    for (const [imported, local] of bindings) {
      // Type-only names have no runtime export: leave them (and any global of that name) alone.
      if (imported === "*") globals[local] = ns;
      else if (imported in ns) globals[local] = ns[imported];
    }
  },
  keep<T>(value: T): T {
    kept.push(value);
    return value;
  },
};

let current = "";
captureOutputs(
  {
    stream: (name, text) => send({ t: "stream", id: current, name, text }),
    display: (data, metadata) => send({ t: "display", id: current, data, metadata }),
    reportParams: () => {},
  },
  {},
);

/** Settles the running cell early when SIGINT arrives while it awaits. */
let abandon: ((reason: Error) => void) | undefined;
process.on("SIGINT", () => abandon?.(new InterruptedError("the cell was interrupted while it awaited")));

class InterruptedError extends Error {
  override readonly name = "InterruptedError";
}

function frameFor(filename: string, lines: number): (line: string) => string | undefined {
  const own = new RegExp(`\\(?${escapeRegExp(filename)}:(\\d+):(\\d+)\\)?`);
  return (line) => {
    if (line.includes("/kernel/executor.ts") || /\bat runInThisContext\b/.test(line)) return undefined;
    const m = own.exec(line);
    // The wrapper's own call (one line past the cell) is not the user's.
    if (m && Number(m[1]) > lines) return undefined;
    return line;
  };
}

async function execute(id: string, code: string, count: number): Promise<CellStatus> {
  const filename = `In[${count}]`;
  const lines = code.split("\n").length;
  const report = (err: unknown): void => {
    if (err instanceof CellSyntaxError) {
      send({
        t: "error",
        id,
        ename: "SyntaxError",
        evalue: err.message,
        traceback: [`SyntaxError: ${err.message}`, `    at ${filename}:${err.line}:${err.column + 1}`],
      });
      return;
    }
    send({ t: "error", id, ...describeError(err, frameFor(filename, lines)) });
  };
  let script: string;
  try {
    script = transformCell(resolveSpecifiers(code, process.cwd())).script;
  } catch (err) {
    report(err);
    return "error";
  }
  try {
    const pending = vm.runInThisContext(script, {
      filename,
      breakOnSigint: true,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as Promise<{ value: unknown } | undefined>;
    const outcome = await new Promise<{ value: unknown } | undefined>((resolve, reject) => {
      abandon = reject;
      pending.then(resolve, reject);
    });
    if (outcome !== undefined && outcome.value !== undefined) {
      // A string value is shown quoted, as a REPL does; display("text") stays plain.
      const data =
        typeof outcome.value === "string"
          ? { "text/plain": Bun.inspect(outcome.value) }
          : toBundle(outcome.value);
      send({ t: "result", id, data, metadata: {} });
    }
    return "ok";
  } catch (err) {
    if (err instanceof InterruptedError || isSigintBreak(err)) {
      send({
        t: "error",
        id,
        ename: "InterruptedError",
        evalue: "the cell was interrupted; the kernel and its variables are kept",
        traceback: [`InterruptedError: ${filename} was interrupted`],
      });
      return "interrupted";
    }
    report(err);
    return "error";
  } finally {
    abandon = undefined;
  }
}

function isSigintBreak(err: unknown): boolean {
  return err instanceof Error && /interrupted by `?SIGINT/i.test(err.message);
}

async function shutdown(): Promise<never> {
  for (const value of kept.reverse()) {
    try {
      const v = value as Partial<AsyncDisposable & Disposable> | null;
      const asyncDispose = v?.[Symbol.asyncDispose];
      if (asyncDispose) await asyncDispose.call(v);
      else v?.[Symbol.dispose]?.();
    } catch (err) {
      send({ t: "stream", id: current, name: "stderr", text: `dispose failed: ${String(err)}\n` });
    }
  }
  process.exit(0);
}

/** Cells run one at a time, in arrival order; complete and inspect answer between them. */
let queue: Promise<void> = Promise.resolve();
process.on("message", (raw: unknown) => {
  const message = JSON.parse(String(raw)) as ToExecutor;
  switch (message.t) {
    case "execute":
      queue = queue.then(async () => {
        current = message.id;
        const status = await execute(message.id, message.code, message.count);
        send({ t: "done", id: message.id, status });
      });
      return;
    case "complete": {
      const c = complete(message.code, message.cursor);
      send({ t: "reply", id: message.id, content: { matches: c.matches, start: c.start, end: c.end } });
      return;
    }
    case "inspect": {
      const i = inspect(message.code, message.cursor, message.detail);
      send({ t: "reply", id: message.id, content: { found: i.found, text: i.text } });
      return;
    }
    case "shutdown":
      queue = queue.then(shutdown);
      return;
  }
});

// An error nobody awaited (a timer, a forgotten promise) is shown, not fatal.
process.on("unhandledRejection", (reason) => {
  send({ t: "error", id: current, ...describeError(reason, (l) => l) });
});
process.on("uncaughtException", (err) => {
  send({ t: "error", id: current, ...describeError(err, (l) => l) });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The kernel is gone: nobody reads our output any more.
process.on("disconnect", () => process.exit(0));

send({ t: "ready" });
