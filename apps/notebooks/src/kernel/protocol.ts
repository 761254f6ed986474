/**
 * Messages between the kernel (ZeroMQ, Jupyter protocol) and its executor process (the notebook's
 * state). The executor is a separate process so that a runaway cell never blocks the heartbeat or
 * the control channel, and a cell that kills its process does not kill the kernel.
 * Sent over Bun's IPC channel as JSON text (lake values carry bigints).
 */
import type { MimeBundle } from "../kit/display.ts";

export type ToExecutor =
  | { readonly t: "execute"; readonly id: string; readonly code: string; readonly count: number }
  | { readonly t: "complete"; readonly id: string; readonly code: string; readonly cursor: number }
  | {
      readonly t: "inspect";
      readonly id: string;
      readonly code: string;
      readonly cursor: number;
      readonly detail: number;
    }
  | { readonly t: "shutdown" };

export type CellStatus = "ok" | "error" | "interrupted";

export type FromExecutor =
  | { readonly t: "ready" }
  | { readonly t: "stream"; readonly id: string; readonly name: "stdout" | "stderr"; readonly text: string }
  | {
      readonly t: "display" | "result";
      readonly id: string;
      readonly data: MimeBundle;
      readonly metadata: Readonly<Record<string, unknown>>;
    }
  | {
      readonly t: "error";
      readonly id: string;
      readonly ename: string;
      readonly evalue: string;
      readonly traceback: readonly string[];
    }
  | { readonly t: "done"; readonly id: string; readonly status: CellStatus }
  | { readonly t: "reply"; readonly id: string; readonly content: Readonly<Record<string, unknown>> };
