/** Worker side of SimulatorThread: runs a KrakenSimulator on its own thread and answers requests. */
import { KrakenSimulator, type SimulatorOptions } from "./server.ts";
import type { ThreadReply, ThreadRequest } from "./thread.ts";

declare const self: Worker;

let sim: KrakenSimulator | undefined;

function reply(message: ThreadReply): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<ThreadRequest>) => {
  const req = event.data;
  try {
    switch (req.kind) {
      case "start": {
        sim = await KrakenSimulator.start(req.options as SimulatorOptions);
        reply({
          id: req.id,
          kind: "started",
          restUrl: sim.restUrl,
          wsUrl: sim.wsUrl,
          symbols: sim.symbols(),
        });
        return;
      }
      case "market":
        sim?.startMarket();
        reply({ id: req.id, kind: "ok" });
        return;
      case "bookBurst":
        await sim?.sendBookBurst();
        reply({ id: req.id, kind: "ok" });
        return;
      case "finished":
        await sim?.whenFinished();
        reply({ id: req.id, kind: "ok" });
        return;
      case "sent": {
        const out: Record<string, { ids: number[]; sentAtMs: number[] }> = {};
        for (const symbol of sim?.symbols() ?? []) {
          const ids = sim?.truthIds(symbol) ?? [];
          out[symbol] = { ids, sentAtMs: ids.map((id) => sim?.sentAtMs(symbol, id) ?? Number.NaN) };
        }
        reply({ id: req.id, kind: "sent", sent: out });
        return;
      }
      case "bookSent": {
        const sent: Record<string, number[]> = {};
        for (const symbol of sim?.symbols() ?? []) sent[symbol] = [...(sim?.bookSentAtMs(symbol) ?? [])];
        reply({ id: req.id, kind: "bookSent", sent });
        return;
      }
      case "stop":
        await sim?.stop();
        sim = undefined;
        reply({ id: req.id, kind: "ok" });
        return;
    }
  } catch (err) {
    reply({ id: req.id, kind: "error", message: (err as Error).message });
  }
};
