/**
 * The simulator's AssetPairs catalog, built from the recorded responses: the full 2021 catalog body is
 * served byte-exact when no `pair` is asked for; a `pair=` subset is assembled from the recorded entry
 * texts (newer recordings win), so every entry's bytes are still Kraken's.
 */

import { rawObjectMembers } from "../kraken/lossless-json.ts";
import { mapAssetPairs } from "../kraken/mappers/rest-asset-pairs.ts";
import type { PairInfo } from "../kraken/pairs.ts";
import { parseEnvelope } from "../kraken/rest/envelope.ts";
import { type RestFixture, restFixture } from "./fixtures.ts";

export class PairCatalog {
  /** The full recorded catalog, byte-exact. */
  readonly fullBody: string;
  private readonly entries = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly infos = new Map<string, PairInfo>();

  constructor(fixtures: readonly RestFixture[]) {
    const full = restFixture(fixtures, "assetpairs-all-2021-04-17");
    this.fullBody = full.body;
    const order = [
      "assetpairs-all-2021-04-17",
      "assetpairs-kar-2023-11",
      "assetpairs-xbtusdt-2025-11",
      "assetpairs-bytex-2026-09-25",
    ];
    for (const id of order) {
      const f = restFixture(fixtures, id);
      const resultText = rawObjectMembers(f.body).get("result");
      if (resultText === undefined) throw new Error(`${id}: no result`);
      for (const [pairId, raw] of rawObjectMembers(resultText)) this.entries.set(pairId, raw);
      for (const info of mapAssetPairs(parseEnvelope(f.body, id)).records) {
        this.infos.set(info.pairId, info);
        for (const name of [info.pairId, info.altname, info.wsname, info.symbol])
          this.names.set(name, info.pairId);
      }
    }
  }

  /** Resolves any Kraken name (pair id, altname, wsname, v2 symbol) to the pair. */
  resolve(name: string): PairInfo | undefined {
    const id = this.names.get(name);
    return id === undefined ? undefined : this.infos.get(id);
  }

  /** The AssetPairs body for `pair=a,b,…`, or undefined when one of them is unknown. */
  subsetBody(names: readonly string[]): string | undefined {
    const parts: string[] = [];
    for (const name of names) {
      const info = this.resolve(name);
      const raw = info && this.entries.get(info.pairId);
      if (!info || raw === undefined) return undefined;
      parts.push(`${JSON.stringify(info.pairId)}:${raw}`);
    }
    return `{"error":[],"result":{${parts.join(",")}}}`;
  }
}
