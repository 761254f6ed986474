/**
 * The simulator on its own thread (a Bun Worker), so that benchmarks measure the ingester rather than
 * two programs sharing one event loop. Times are epoch ms from `performance`, comparable across threads.
 */
import type { SimulatorOptions } from "./server.ts";

export type ThreadRequest =
  | { readonly id: number; readonly kind: "start"; readonly options: Omit<SimulatorOptions, "symbols"> }
  | {
      readonly id: number;
      readonly kind: "market" | "bookBurst" | "finished" | "sent" | "bookSent" | "stop";
    };

export type ThreadReply =
  | {
      readonly id: number;
      readonly kind: "started";
      readonly restUrl: string;
      readonly wsUrl: string;
      readonly symbols: string[];
    }
  | { readonly id: number; readonly kind: "ok" }
  | {
      readonly id: number;
      readonly kind: "sent";
      readonly sent: Record<string, { readonly ids: number[]; readonly sentAtMs: number[] }>;
    }
  | {
      readonly id: number;
      readonly kind: "bookSent";
      /** Per symbol, epoch ms of each book update sent, in order (the n-th is seq n of the session). */
      readonly sent: Record<string, number[]>;
    }
  | { readonly id: number; readonly kind: "error"; readonly message: string };

export class SimulatorThread {
  private readonly worker = new Worker(new URL("./thread-worker.ts", import.meta.url).href);
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ThreadReply) => void>();
  restUrl = "";
  wsUrl = "";
  symbols: string[] = [];

  private constructor() {
    this.worker.onmessage = (e: MessageEvent<ThreadReply>) => {
      const w = this.waiting.get(e.data.id);
      this.waiting.delete(e.data.id);
      w?.(e.data);
    };
  }

  private request(req: Omit<ThreadRequest, "id"> & Record<string, unknown>): Promise<ThreadReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.kind === "error" ? reject(new Error(r.message)) : resolve(r)));
      this.worker.postMessage({ ...req, id });
    });
  }

  static async start(options: Omit<SimulatorOptions, "symbols">): Promise<SimulatorThread> {
    const t = new SimulatorThread();
    const r = await t.request({ kind: "start", options });
    if (r.kind !== "started") throw new Error("simulator thread did not start");
    t.restUrl = r.restUrl;
    t.wsUrl = r.wsUrl;
    t.symbols = r.symbols;
    return t;
  }

  async startMarket(): Promise<void> {
    await this.request({ kind: "market" });
  }

  /** Sends the pre-rendered book burst once the books are subscribed; resolves when the last frame is sent. */
  async sendBookBurst(): Promise<void> {
    await this.request({ kind: "bookBurst" });
  }

  async whenFinished(): Promise<void> {
    await this.request({ kind: "finished" });
  }

  /** trade_id → epoch ms when it was first written to a WebSocket, per symbol. */
  async sentTimes(): Promise<Map<string, Map<number, number>>> {
    const r = await this.request({ kind: "sent" });
    if (r.kind !== "sent") throw new Error("unexpected reply");
    return new Map(
      Object.entries(r.sent).map(([symbol, { ids, sentAtMs }]) => [
        symbol,
        new Map(ids.map((id, i) => [id, sentAtMs[i] ?? Number.NaN])),
      ]),
    );
  }

  /** Per symbol, when each book update was sent (epoch ms, in order); needs `bookSendTimes`. */
  async bookSentTimes(): Promise<Map<string, readonly number[]>> {
    const r = await this.request({ kind: "bookSent" });
    if (r.kind !== "bookSent") throw new Error("unexpected reply");
    return new Map(Object.entries(r.sent));
  }

  async stop(): Promise<void> {
    try {
      await this.request({ kind: "stop" });
    } finally {
      this.worker.terminate();
    }
  }
}
