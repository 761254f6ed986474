/**
 * The side channel between a notebook's child process and the runner: one JSON object per line,
 * appended synchronously to a file, so nothing is lost when the child exits or is killed.
 */

export type ChildMessage =
  | { readonly t: "cell"; readonly cell: number; readonly at: number }
  | { readonly t: "stream"; readonly cell: number; readonly name: "stdout" | "stderr"; readonly text: string }
  | {
      readonly t: "display";
      readonly cell: number;
      readonly data: Readonly<Record<string, unknown>>;
      readonly metadata: Readonly<Record<string, unknown>>;
    }
  | { readonly t: "params"; readonly values: Readonly<Record<string, unknown>> }
  /** A lake session's pinned snapshots (`layer.dataset` → snapshot id, `hive` or `none`). */
  | { readonly t: "snapshots"; readonly tables: Readonly<Record<string, string>> }
  | {
      readonly t: "error";
      readonly cell: number;
      readonly ename: string;
      readonly evalue: string;
      readonly traceback: readonly string[];
    }
  | { readonly t: "done"; readonly at: number };

/** Global the generated program calls at the start of each code cell. */
export const CELL_KEY = Symbol.for("tributary.notebook.cell");

/** JSON that survives bigint (as decimal text) and drops functions and symbols. */
export function encodeMessage(message: ChildMessage): string {
  return `${JSON.stringify(message, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))}\n`;
}

/** Splits complete lines off a buffer; returns the messages and the unfinished rest. */
export function decodeMessages(buffer: string): { messages: ChildMessage[]; rest: string } {
  const messages: ChildMessage[] = [];
  let start = 0;
  for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n", start)) {
    const line = buffer.slice(start, nl);
    start = nl + 1;
    if (line.trim() === "") continue;
    try {
      messages.push(JSON.parse(line) as ChildMessage);
    } catch {
      // A corrupt line would mean a broken child; surface it as output rather than drop it.
      messages.push({
        t: "stream",
        cell: -1,
        name: "stderr",
        text: `[runner] unreadable channel line: ${line}\n`,
      });
    }
  }
  return { messages, rest: buffer.slice(start) };
}
