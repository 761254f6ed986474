/**
 * Entry of the child process that executes one notebook:
 *   bun child.ts <program.ts> <channel file> <notebook path> <params JSON>
 * It installs the display runtime, routes console and stdout/stderr writes to the running cell,
 * imports the generated program (cells run in order), and reports everything on the side channel.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { format } from "node:util";
import { type MimeBundle, type NotebookRuntime, RUNTIME_KEY } from "../kit/display.ts";
import { CELL_KEY, type ChildMessage, encodeMessage } from "./protocol.ts";

function argv(): { programPath: string; channelPath: string; notebookPath: string; paramsJson: string } {
  const [programPath, channelPath, notebookPath, paramsJson = "{}"] = process.argv.slice(2);
  if (!programPath || !channelPath || !notebookPath) {
    console.error("usage: bun child.ts <program.ts> <channel> <notebook.ts> [params JSON]");
    process.exit(2);
  }
  return { programPath, channelPath, notebookPath, paramsJson };
}
const { programPath, channelPath, notebookPath, paramsJson } = argv();

const channel = openSync(channelPath, "a");
const send = (message: ChildMessage): void => {
  writeSync(channel, encodeMessage(message));
};
let current = -1;

const globals = globalThis as unknown as Record<symbol, unknown>;
globals[CELL_KEY] = (index: number): void => {
  current = index;
  send({ t: "cell", cell: index, at: Date.now() });
};

const runtime: NotebookRuntime = {
  params: Object.freeze(JSON.parse(paramsJson) as Record<string, string>),
  display(bundle: MimeBundle, metadata: Readonly<Record<string, unknown>>): void {
    send({ t: "display", cell: current, data: bundle, metadata });
  },
  reportParams(values: Readonly<Record<string, unknown>>): void {
    send({ t: "params", values });
  },
};
globals[RUNTIME_KEY] = runtime;

const stream = (name: "stdout" | "stderr", text: string): void => {
  if (text !== "") send({ t: "stream", cell: current, name, text });
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

const programUrl = `file://${programPath}`;

function describeError(err: unknown): { ename: string; evalue: string; traceback: string[] } {
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
    const frames = (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
    for (const frame of frames) {
      if (frame.includes("/runner/child.ts")) continue;
      traceback.push(frame.replaceAll(programUrl, notebookPath).replaceAll(programPath, notebookPath));
    }
    e = e.cause;
  }
  return { ename: err.name, evalue: err.message, traceback };
}

function fail(err: unknown): void {
  send({ t: "error", cell: current, ...describeError(err) });
}

process.on("uncaughtException", (err) => {
  fail(err);
  closeSync(channel);
  process.exit(1);
});
process.on("unhandledRejection", (reason) => {
  fail(reason);
  closeSync(channel);
  process.exit(1);
});

let code = 0;
try {
  await import(programPath);
  send({ t: "done", at: Date.now() });
} catch (err) {
  fail(err);
  code = 1;
}
closeSync(channel);
// Exit even if a notebook left handles open (timers, sockets): the run is over.
process.exit(code);
