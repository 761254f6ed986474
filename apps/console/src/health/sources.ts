/**
 * Health of the pipeline's processes: each one serves `/health` and `/metrics` on 127.0.0.1 at its
 * configured port. A probe never throws; it returns up or down with the reason, a few metrics, and
 * how fresh each feed is (the ingester's age of the last trade and book message Kafka acknowledged).
 */
import type { Config, ConsoleSource } from "@tributary/shared/config";

export interface MetricSample {
  readonly name: string;
  readonly labels: string;
  readonly value: string;
}

export interface SourceStatus {
  readonly name: ConsoleSource;
  readonly label: string;
  readonly url: string;
  readonly up: boolean;
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly error: string | null;
  /** The `/health` body when it is JSON (bounded). */
  readonly health: unknown;
  /** A few samples from `/metrics` (counters and gauges, no comments). */
  readonly metrics: readonly MetricSample[];
  /** Age of each feed's newest acknowledged message, by symbol (the ingester's gauges). */
  readonly freshness: readonly FeedAge[];
}

export interface FeedAge {
  readonly feed: "trades" | "book";
  readonly symbol: string;
  readonly ageS: number;
}

/** The ingester's freshness gauges: seconds since the exchange time of the last message per feed. */
const FEED_GAUGES: Readonly<Record<string, FeedAge["feed"]>> = {
  tributary_ingest_last_trade_age_seconds: "trades",
  tributary_ingest_last_book_age_seconds: "book",
};

/** Feed ages from `/metrics` samples, by symbol then feed (trades before book). */
export function feedAges(samples: readonly MetricSample[]): FeedAge[] {
  const out: FeedAge[] = [];
  for (const m of samples) {
    const feed = FEED_GAUGES[m.name];
    const symbol = /symbol="([^"]*)"/.exec(m.labels)?.[1];
    const ageS = Number(m.value);
    if (feed && symbol !== undefined && Number.isFinite(ageS)) out.push({ feed, symbol, ageS });
  }
  return out.sort((a, b) =>
    a.symbol !== b.symbol
      ? a.symbol < b.symbol
        ? -1
        : 1
      : a.feed === b.feed
        ? 0
        : a.feed === "trades"
          ? -1
          : 1,
  );
}

export const SOURCE_LABELS: Record<ConsoleSource, string> = {
  ingest: "Kraken ingester",
  cdc: "PostgreSQL CDC",
  lake: "Lake writer",
  jobs: "Scheduler",
};

export function sourcePort(config: Pick<Config, "ports">, source: ConsoleSource): number {
  const ports: Record<ConsoleSource, number> = {
    ingest: config.ports.ingestMetrics,
    cdc: config.ports.cdcMetrics,
    lake: config.ports.lakeMetrics,
    jobs: config.ports.jobsMetrics,
  };
  return ports[source];
}

/** Parses Prometheus text exposition into samples (comments and malformed lines skipped). */
export function parsePrometheus(text: string, limit = 500): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (out.length >= limit) break;
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|NaN|Inf))(?:\s+-?\d+)?$/.exec(
        line.trim(),
      );
    if (m) out.push({ name: m[1] as string, labels: m[2] ?? "", value: m[3] as string });
  }
  return out;
}

async function fetchWithTimeout(url: string, timeoutMs: number): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
}

async function boundedText(res: Response, maxBytes: number): Promise<string> {
  const buf = await res.arrayBuffer();
  return new TextDecoder().decode(buf.byteLength > maxBytes ? buf.slice(0, maxBytes) : buf);
}

const reasonText = (reason: string | null): string => (reason ? `: ${reason}` : "");

/**
 * Why an app's /health says unhealthy, from its JSON: the failing checks of the shared health report
 * (`{"checks": {"kafka": {"ok": false, "detail": "…"}}}`), else its `reason`, `error` or
 * `last_flush_error`; null when the answer says nothing readable.
 */
export function healthReason(body: unknown): string | null {
  if (typeof body !== "object" || body === null)
    return typeof body === "string" && body ? body.slice(0, 300) : null;
  const b = body as Record<string, unknown>;
  if (typeof b.checks === "object" && b.checks !== null) {
    const failing = Object.entries(b.checks as Record<string, { ok?: unknown; detail?: unknown }>)
      .filter(([, c]) => c?.ok === false)
      .map(([name, c]) => `${name}: ${typeof c.detail === "string" ? c.detail : "not ok"}`);
    if (failing.length > 0) return failing.join("; ").slice(0, 500);
  }
  for (const key of ["reason", "error", "last_flush_error"]) {
    const v = b[key];
    if (typeof v === "string" && v) return v.slice(0, 500);
  }
  return null;
}

export async function probeSource(
  name: ConsoleSource,
  port: number,
  options: { host?: string; timeoutMs?: number; metricsShown?: number } = {},
): Promise<SourceStatus> {
  const base = `http://${options.host ?? "127.0.0.1"}:${port}`;
  const timeoutMs = options.timeoutMs ?? 1500;
  const started = performance.now();
  const common = { name, label: SOURCE_LABELS[name], url: base };
  try {
    const res = await fetchWithTimeout(`${base}/health`, timeoutMs);
    const latencyMs = Math.round(performance.now() - started);
    const body = await boundedText(res, 16_384);
    let health: unknown = body.slice(0, 2000);
    try {
      health = JSON.parse(body);
    } catch {
      // plain-text health body
    }
    let metrics: MetricSample[] = [];
    let freshness: FeedAge[] = [];
    try {
      const m = await fetchWithTimeout(`${base}/metrics`, timeoutMs);
      if (m.ok) {
        const samples = parsePrometheus(await boundedText(m, 1_000_000), 5000);
        metrics = samples.slice(0, options.metricsShown ?? 12);
        freshness = feedAges(samples);
      }
    } catch {
      // metrics are a bonus; health decides up/down
    }
    return {
      ...common,
      up: res.status === 200,
      httpStatus: res.status,
      latencyMs,
      error:
        res.status === 200 ? null : `/health answered HTTP ${res.status}${reasonText(healthReason(health))}`,
      health,
      metrics,
      freshness,
    };
  } catch (err) {
    const reason =
      err instanceof DOMException && err.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : `not reachable (${(err as Error).message})`;
    return {
      ...common,
      up: false,
      httpStatus: null,
      latencyMs: null,
      error: reason,
      health: null,
      metrics: [],
      freshness: [],
    };
  }
}
