/**
 * The kernel's handle on its executor process: spawns it in the notebook's folder, routes its
 * messages by request id, interrupts it (SIGINT; if the cell still runs after a grace period the
 * process is replaced, and the cell says its variables were lost), and replaces it when it dies.
 */
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import type { FromExecutor, ToExecutor } from "./protocol.ts";

const EXECUTOR = resolve(import.meta.dir, "executor.ts");

export interface ExecutorOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long an interrupted cell may keep running before its process is replaced. */
  readonly interruptGraceMs: number;
}

type Listener = (message: FromExecutor) => void;

export class ExecutorProcess {
  private child: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  private ready: Promise<void> = Promise.resolve();
  private readonly listeners = new Map<string, Listener>();
  private running: string | undefined;
  /** Raw output of the process (native writes that bypass the captured console). */
  onRawOutput: (name: "stdout" | "stderr", text: string) => void = () => {};
  /** The process died while `id` was running (or with no cell running: id undefined). */
  onDeath: (id: string | undefined, code: number | null) => void = () => {};
  /** Messages that belong to no pending request (output after a cell ended). */
  onStray: Listener = () => {};

  constructor(private readonly options: ExecutorOptions) {}

  start(): void {
    let markReady: () => void = () => {};
    this.ready = new Promise((r) => {
      markReady = r;
    });
    const child = Bun.spawn([process.execPath, EXECUTOR], {
      cwd: this.options.cwd,
      env: { ...this.options.env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      serialization: "json",
      ipc: (raw) => {
        const message = JSON.parse(String(raw)) as FromExecutor;
        if (message.t === "ready") {
          markReady();
          return;
        }
        const listener = this.listeners.get(message.id);
        if (listener) listener(message);
        else this.onStray(message);
      },
    });
    this.child = child;
    void this.pump(child.stdout, "stdout");
    void this.pump(child.stderr, "stderr");
    void child.exited.then((code) => {
      if (this.child !== child) return;
      this.child = undefined;
      const running = this.running;
      this.running = undefined;
      this.onDeath(running, code);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends a request and calls `listener` with its messages until `done` / `reply`. */
  async request(message: Exclude<ToExecutor, { t: "shutdown" }>, listener: Listener): Promise<void> {
    await this.ready;
    if (!this.child) this.start();
    await this.ready;
    this.listeners.set(message.id, listener);
    if (message.t === "execute") this.running = message.id;
    this.child?.send(JSON.stringify(message));
  }

  finished(id: string): void {
    this.listeners.delete(id);
    if (this.running === id) this.running = undefined;
  }

  isRunning(): boolean {
    return this.running !== undefined;
  }

  /** SIGINT the running cell; replace the process if the cell has not stopped after the grace period. */
  interrupt(): void {
    const child = this.child;
    const id = this.running;
    if (!child || !id) return;
    child.kill("SIGINT");
    setTimeout(() => {
      if (this.child === child && this.running === id) child.kill("SIGKILL");
    }, this.options.interruptGraceMs);
  }

  /** Asks the process to dispose what cells kept and exit; kills it after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    try {
      child.send(JSON.stringify({ t: "shutdown" } satisfies ToExecutor));
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await child.exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.child?.kill("SIGKILL");
  }

  private async pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== "") this.onRawOutput(name, text);
    }
  }
}
