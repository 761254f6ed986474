import { describe, expect, test } from "bun:test";
import { loadDatasetDocs, parseDatasetDocs } from "./descriptions.ts";

describe("dataset descriptions from docs/datasets.md", () => {
  test("the real docs describe silver trades, both quarantines and every candle interval", () => {
    const docs = loadDatasetDocs();
    expect(docs.get("silver/kraken_trades")?.columns.get("price")).toBe(
      "exact; the message's decimal string, never rounded",
    );
    // A row naming several columns describes each of them.
    expect(docs.get("silver/kraken_trades")?.columns.get("kafka_offset")).toBe("lineage: the bronze row");
    expect(docs.get("silver/kraken_ticker_quarantine")?.columns.get("reason")).toContain(
      "why it was rejected",
    );
    expect(docs.get("gold/candles_5m")?.columns.get("vwap")).toContain("Σ price·qty / Σ qty");
    expect(docs.get("gold/data_quality_hourly")?.columns.get("missing_trades")).toBe(
      "Σ ids skipped by those jumps (missed trades)",
    );
    expect(docs.get("gold/daily_summary")?.summary).toStartWith("Per symbol and UTC day");
  });

  test("headings, tables and paragraphs are read as written; other sections are skipped", () => {
    const docs = parseDatasetDocs(
      [
        "# Title",
        "### Not a dataset",
        "| column | meaning |",
        "|---|---|",
        "| x | ignored |",
        "### `gold/a`, `b`",
        "First `line`",
        "continues.",
        "",
        "Second paragraph.",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        "| p, q | INT | **both** |",
        "| r | INT | |",
        "## Next",
      ].join("\n"),
    );
    expect([...docs.keys()]).toEqual(["gold/a", "gold/b"]);
    expect(docs.get("gold/b")?.summary).toBe("First line continues.");
    expect(Object.fromEntries(docs.get("gold/a")?.columns ?? [])).toEqual({ p: "both", q: "both", r: "" });
  });
});
