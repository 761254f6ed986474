/**
 * Entry of the child process that executes one notebook:
 *   bun child.ts <program.ts> <channel file> <notebook path> <params JSON> [as-of JSON]
 * It installs the display runtime, routes console and stdout/stderr writes to the running cell,
 * imports the generated program (cells run in order), and reports everything on the side channel.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { LakeAsOf } from "../kit/lake.ts";
import { captureOutputs, describeError } from "./capture.ts";
import { CELL_KEY, type ChildMessage, encodeMessage } from "./protocol.ts";

function argv(): {
  programPath: string;
  channelPath: string;
  notebookPath: string;
  paramsJson: string;
  asOfJson: string;
} {
  const [programPath, channelPath, notebookPath, paramsJson = "{}", asOfJson = "null"] =
    process.argv.slice(2);
  if (!programPath || !channelPath || !notebookPath) {
    console.error("usage: bun child.ts <program.ts> <channel> <notebook.ts> [params JSON]");
    process.exit(2);
  }
  return { programPath, channelPath, notebookPath, paramsJson, asOfJson };
}
const { programPath, channelPath, notebookPath, paramsJson, asOfJson } = argv();

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

captureOutputs(
  {
    stream: (name, text) => send({ t: "stream", cell: current, name, text }),
    display: (data, metadata) => send({ t: "display", cell: current, data, metadata }),
    reportParams: (values) => send({ t: "params", values }),
    reportSnapshots: (tables) => send({ t: "snapshots", tables }),
  },
  JSON.parse(paramsJson) as Record<string, string>,
  (JSON.parse(asOfJson) as LakeAsOf | null) ?? undefined,
);

const programUrl = `file://${programPath}`;
const frame = (line: string): string | undefined =>
  line.includes("/runner/child.ts")
    ? undefined
    : line.replaceAll(programUrl, notebookPath).replaceAll(programPath, notebookPath);

function fail(err: unknown): void {
  send({ t: "error", cell: current, ...describeError(err, frame) });
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
