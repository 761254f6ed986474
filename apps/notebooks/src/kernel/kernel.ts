/**
 * The Jupyter kernel: five ZeroMQ sockets from the connection file (shell, control, stdin as
 * ROUTER, iopub as PUB, heartbeat as REP), signed messages, and the protocol 5.3 requests, with
 * cells run by the executor process. Shell requests are handled one at a time, in order; control
 * requests (interrupt, shutdown) are answered at once, even while a cell runs.
 */
import { randomUUID } from "node:crypto";
import type { ConnectionInfo } from "./connection.ts";
import { ExecutorProcess } from "./executor-process.ts";
import { LANGUAGE_INFO } from "./kernelspec.ts";
import type { FromExecutor } from "./protocol.ts";
import {
  type JupyterMessage,
  type Outgoing,
  parseMessage,
  Signer,
  serializeMessage,
  WireError,
} from "./wire.ts";
import { BoundSocket } from "./zmtp/socket.ts";

export const KERNEL_IMPLEMENTATION = "tributary";
export const KERNEL_VERSION = "0.1.0";

export interface KernelOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly interruptGraceMs?: number;
  /** Called once the kernel has answered a shutdown request and closed its sockets. */
  readonly onShutdown?: () => void;
  readonly log?: (line: string) => void;
}

type Channel = "shell" | "control";
type Reply = (msgType: string, content: Record<string, unknown>) => void;

export class Kernel {
  private readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly executor: ExecutorProcess;
  private shell!: BoundSocket;
  private control!: BoundSocket;
  private stdin!: BoundSocket;
  private iopub!: BoundSocket;
  private heartbeat!: BoundSocket;
  private executionCount = 0;
  private shellQueue: Promise<void> = Promise.resolve();
  /** Execute requests that arrived before this instant are aborted after an error (stop_on_error). */
  private abortBefore = 0;
  private lastParent: JupyterMessage | undefined;
  private closed = false;

  constructor(
    private readonly connection: ConnectionInfo,
    private readonly options: KernelOptions,
  ) {
    this.signer = new Signer(connection.key, connection.signature_scheme);
    this.executor = new ExecutorProcess({
      cwd: options.cwd,
      env: options.env,
      interruptGraceMs: options.interruptGraceMs ?? 3000,
    });
    this.executor.onRawOutput = (name, text) => {
      if (this.lastParent) this.publish("stream", this.lastParent, { name, text });
    };
    this.executor.onStray = (m) => {
      if (this.lastParent) this.publishOutput(m, this.lastParent, this.executionCount);
    };
  }

  start(): void {
    const host = this.connection.ip;
    const onProtocolError = (err: Error): void => this.log(`protocol error: ${err.message}`);
    const router = (channel: Channel) => (frames: Uint8Array[]) => this.receive(channel, frames);
    this.shell = BoundSocket.bind({
      type: "ROUTER",
      host,
      port: this.connection.shell_port,
      onMessage: router("shell"),
      onProtocolError,
    });
    this.control = BoundSocket.bind({
      type: "ROUTER",
      host,
      port: this.connection.control_port,
      onMessage: router("control"),
      onProtocolError,
    });
    this.stdin = BoundSocket.bind({
      type: "ROUTER",
      host,
      port: this.connection.stdin_port,
      onProtocolError,
    });
    this.iopub = BoundSocket.bind({ type: "PUB", host, port: this.connection.iopub_port, onProtocolError });
    this.heartbeat = BoundSocket.bind({
      type: "REP",
      host,
      port: this.connection.hb_port,
      onMessage: (body, reply) => reply(body),
      onProtocolError,
    });
    this.executor.start();
  }

  interrupt(): void {
    this.executor.interrupt();
  }

  /** Ports actually bound (0 in the connection file picks free ones). */
  ports(): Record<string, number> {
    return {
      shell_port: this.shell.port,
      control_port: this.control.port,
      stdin_port: this.stdin.port,
      iopub_port: this.iopub.port,
      hb_port: this.heartbeat.port,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.executor.stop(5000);
    // Let queued replies reach their sockets before closing them.
    await Bun.sleep(50);
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.heartbeat]) s.close();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private receive(channel: Channel, frames: Uint8Array[]): void {
    let message: JupyterMessage;
    try {
      message = parseMessage(frames, this.signer);
    } catch (err) {
      this.log(`${channel}: refused a message: ${err instanceof WireError ? err.message : String(err)}`);
      return;
    }
    const socket = channel === "shell" ? this.shell : this.control;
    const reply: Reply = (msgType, content) => this.send(socket, message, msgType, content);
    if (channel === "control") {
      void this.handle(channel, message, reply);
      return;
    }
    const arrived = performance.now();
    this.shellQueue = this.shellQueue.then(async () => {
      if (message.header.msg_type === "execute_request" && arrived < this.abortBefore) {
        this.busy(message, () =>
          reply("execute_reply", { status: "aborted", execution_count: this.executionCount }),
        );
        return;
      }
      await this.handle(channel, message, reply);
    });
  }

  private async handle(channel: Channel, message: JupyterMessage, reply: Reply): Promise<void> {
    this.publish("status", message, { execution_state: "busy" });
    try {
      await this.dispatch(channel, message, reply);
    } catch (err) {
      this.log(`${message.header.msg_type} failed: ${err instanceof Error ? err.stack : String(err)}`);
    } finally {
      this.publish("status", message, { execution_state: "idle" });
    }
  }

  private busy(message: JupyterMessage, work: () => void): void {
    this.publish("status", message, { execution_state: "busy" });
    work();
    this.publish("status", message, { execution_state: "idle" });
  }

  private async dispatch(channel: Channel, message: JupyterMessage, reply: Reply): Promise<void> {
    const content = message.content;
    switch (message.header.msg_type) {
      case "kernel_info_request":
        reply("kernel_info_reply", {
          status: "ok",
          protocol_version: "5.3",
          implementation: KERNEL_IMPLEMENTATION,
          implementation_version: KERNEL_VERSION,
          language_info: LANGUAGE_INFO,
          banner: `Tributary TypeScript kernel on Bun ${Bun.version}`,
          help_links: [],
        });
        return;
      case "execute_request":
        await this.execute(message, reply);
        return;
      case "is_complete_request": {
        // Loaded on first use: the transform's parsers are not needed to start the kernel.
        const { completeness } = await import("./repl.ts");
        const status = completeness(String(content.code ?? ""));
        reply("is_complete_reply", status === "incomplete" ? { status, indent: "" } : { status });
        return;
      }
      case "complete_request":
      case "inspect_request":
        await this.introspect(message, reply);
        return;
      case "history_request":
        reply("history_reply", { status: "ok", history: [] });
        return;
      case "comm_info_request":
        reply("comm_info_reply", { status: "ok", comms: {} });
        return;
      case "interrupt_request":
        this.executor.interrupt();
        reply("interrupt_reply", { status: "ok" });
        return;
      case "shutdown_request": {
        const restart = content.restart === true;
        await this.executor.stop(5000);
        reply("shutdown_reply", { status: "ok", restart });
        this.publish("status", message, { execution_state: "idle" });
        await this.close();
        this.options.onShutdown?.();
        return;
      }
      default:
        this.log(`${channel}: ignored ${message.header.msg_type}`);
    }
  }

  private async execute(message: JupyterMessage, reply: Reply): Promise<void> {
    const code = String(message.content.code ?? "");
    const silent = message.content.silent === true;
    const storeHistory = message.content.store_history !== false && !silent;
    if (storeHistory) this.executionCount += 1;
    const count = this.executionCount;
    this.lastParent = message;
    if (!silent) this.publish("execute_input", message, { code, execution_count: count });
    const id = message.header.msg_id;
    let error: { ename: string; evalue: string; traceback: readonly string[] } | undefined;
    const finished = new Promise<void>((done) => {
      this.executor.onDeath = (dead, exitCode) => {
        this.executor.start();
        if (dead !== id) return;
        error = {
          ename: "ExecutorExit",
          evalue: `the cell's process ended (exit code ${exitCode}); variables are lost, a fresh process is ready`,
          traceback: [
            `ExecutorExit: exit code ${exitCode}; a fresh process replaced it, earlier variables are gone`,
          ],
        };
        this.publish("error", message, error);
        done();
      };
      void this.executor.request({ t: "execute", id, code, count }, (m) => {
        if (m.t === "error") error = m;
        if (m.t === "done") {
          done();
          return;
        }
        if (!silent || m.t === "stream" || m.t === "error") this.publishOutput(m, message, count);
      });
    });
    await finished;
    this.executor.finished(id);
    if (!error) {
      reply("execute_reply", { status: "ok", execution_count: count, payload: [], user_expressions: {} });
      return;
    }
    if (message.content.stop_on_error !== false) this.abortBefore = performance.now();
    reply("execute_reply", {
      status: "error",
      execution_count: count,
      ename: error.ename,
      evalue: error.evalue,
      traceback: error.traceback,
    });
  }

  private publishOutput(m: FromExecutor, parent: JupyterMessage, count: number): void {
    switch (m.t) {
      case "stream":
        this.publish("stream", parent, { name: m.name, text: m.text });
        return;
      case "display":
        this.publish("display_data", parent, { data: m.data, metadata: m.metadata, transient: {} });
        return;
      case "result":
        this.publish("execute_result", parent, {
          execution_count: count,
          data: m.data,
          metadata: m.metadata,
        });
        return;
      case "error":
        this.publish("error", parent, { ename: m.ename, evalue: m.evalue, traceback: m.traceback });
        return;
      default:
        return;
    }
  }

  private async introspect(message: JupyterMessage, reply: Reply): Promise<void> {
    const code = String(message.content.code ?? "");
    // Jupyter counts the cursor in Unicode code points; JavaScript strings index UTF-16 units.
    const cursor = utf16Offset(code, Number(message.content.cursor_pos ?? code.length));
    const id = message.header.msg_id;
    const isComplete = message.header.msg_type === "complete_request";
    const content = await new Promise<Readonly<Record<string, unknown>>>((resolve) => {
      void this.executor.request(
        isComplete
          ? { t: "complete", id, code, cursor }
          : { t: "inspect", id, code, cursor, detail: Number(message.content.detail_level ?? 0) },
        (m) => {
          if (m.t === "reply") resolve(m.content);
        },
      );
    });
    this.executor.finished(id);
    if (isComplete) {
      reply("complete_reply", {
        status: "ok",
        matches: content.matches,
        cursor_start: codePointOffset(code, Number(content.start)),
        cursor_end: codePointOffset(code, Number(content.end)),
        metadata: {},
      });
      return;
    }
    reply("inspect_reply", {
      status: "ok",
      found: content.found === true,
      data: content.found === true ? { "text/plain": content.text } : {},
      metadata: {},
    });
  }

  private send(
    socket: BoundSocket,
    parent: JupyterMessage,
    msgType: string,
    content: Record<string, unknown>,
  ): void {
    socket.sendTo(
      this.frames({
        identities: parent.identities,
        msgType,
        session: this.session,
        parent: parent.header,
        content,
      }),
    );
  }

  private publish(msgType: string, parent: JupyterMessage, content: Readonly<Record<string, unknown>>): void {
    if (this.closed) return;
    const topic = new TextEncoder().encode(`kernel.${this.session}.${msgType}`);
    this.iopub.publish(
      this.frames({ identities: [topic], msgType, session: this.session, parent: parent.header, content }),
    );
  }

  private frames(message: Outgoing): Uint8Array[] {
    return serializeMessage(message, this.signer);
  }
}

export function utf16Offset(text: string, codePoints: number): number {
  let units = 0;
  let points = 0;
  for (const ch of text) {
    if (points >= codePoints) break;
    units += ch.length;
    points += 1;
  }
  return units;
}

export function codePointOffset(text: string, units: number): number {
  return [...text.slice(0, units)].length;
}
