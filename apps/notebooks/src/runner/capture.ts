/**
 * What a notebook's code sees as its output devices, in the batch child and in the kernel's
 * executor alike: the kit's display runtime, `console.*`, and `process.stdout/stderr.write`, all
 * routed to one sink; and the one way an exception becomes a Jupyter error (name, value, traceback).
 */
import { format } from "node:util";
import { type MimeBundle, type NotebookRuntime, RUNTIME_KEY } from "../kit/display.ts";
import type { LakeAsOf, PinnedSnapshots } from "../kit/lake.ts";

export interface OutputSink {
  stream(name: "stdout" | "stderr", text: string): void;
  display(bundle: MimeBundle, metadata: Readonly<Record<string, unknown>>): void;
  reportParams(values: Readonly<Record<string, unknown>>): void;
  reportSnapshots?(tables: PinnedSnapshots): void;
}

export function captureOutputs(
  sink: OutputSink,
  params: Readonly<Record<string, string>>,
  asOf?: LakeAsOf,
): void {
  const runtime: NotebookRuntime = {
    params: Object.freeze({ ...params }),
    display: (bundle, metadata) => sink.display(bundle, metadata),
    reportParams: (values) => sink.reportParams(values),
    ...(asOf ? { asOf } : {}),
    reportSnapshots: (tables) => sink.reportSnapshots?.(tables),
  };
  (globalThis as unknown as Record<symbol, unknown>)[RUNTIME_KEY] = runtime;
  const stream = (name: "stdout" | "stderr", text: string): void => {
    if (text !== "") sink.stream(name, text);
  };
  for (const method of ["log", "info", "debug", "dir", "trace"] as const) {
    console[method] = (...args: unknown[]): void => stream("stdout", `${format(...args)}\n`);
  }
  for (const method of ["warn", "error"] as const) {
    console[method] = (...args: unknown[]): void => stream("stderr", `${format(...args)}\n`);
  }
  console.table = (data: unknown): void =>
    stream(
      "stdout",
      Bun.inspect.table(typeof data === "object" && data !== null ? data : [data], { colors: false }),
    );
  type Write = typeof process.stdout.write;
  const captureWrite =
    (name: "stdout" | "stderr"): Write =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      stream(name, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      const callback = rest.find((r): r is () => void => typeof r === "function");
      callback?.();
      return true;
    };
  process.stdout.write = captureWrite("stdout");
  process.stderr.write = captureWrite("stderr");
}

export interface ErrorReport {
  readonly ename: string;
  readonly evalue: string;
  readonly traceback: string[];
}

/**
 * An exception as Jupyter shows it: `Name: message`, then the stack frames `frame` keeps (it may
 * rewrite them, or drop them by returning undefined), then each cause.
 */
export function describeError(err: unknown, frame: (line: string) => string | undefined): ErrorReport {
  if (!(err instanceof Error)) {
    const text =
      typeof err === "object" && err !== null && "message" in err ? String(err.message) : String(err);
    const name = typeof err === "object" && err !== null && "name" in err ? String(err.name) : "Error";
    return { ename: name, evalue: text, traceback: [`${name}: ${text}`] };
  }
  const traceback: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    traceback.push(`${depth === 0 ? "" : "Caused by: "}${e.name}: ${e.message}`);
    for (const line of (e.stack ?? "").split("\n")) {
      if (!/^\s+at /.test(line)) continue;
      const kept = frame(line);
      if (kept !== undefined) traceback.push(kept);
    }
    e = e.cause;
  }
  return { ename: err.name, evalue: err.message, traceback };
}
