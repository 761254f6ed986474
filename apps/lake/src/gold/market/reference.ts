/**
 * An independent recomputation of gold from a list of trades, in plain TypeScript with exact
 * decimal arithmetic (bigint units of 10^-10), sharing no code with the SQL. Tests compare it with
 * what DuckDB wrote; the end-to-end test feeds it the simulator's ground truth.
 *
 * The rules it implements are the documented ones (docs/datasets.md): trades deduplicated on
 * (symbol, trade_id) keeping the WebSocket's copy, else the first seen; buckets by UTC event time; open/close by trade_id;
 * volumes exact; quote_volume and vwap rounded half up to 10 decimals.
 */

export interface ReferenceTrade {
  readonly symbol: string;
  readonly tradeId: bigint;
  /** Exact decimal strings (at most 10 fractional digits). */
  readonly price: string;
  readonly qty: string;
  readonly side: "buy" | "sell";
  /** Exchange time, epoch microseconds. */
  readonly tsMicros: bigint;
  /** When the trade reached bronze, epoch microseconds (for late arrivals). */
  readonly ingestedAtMicros?: bigint;
  /** Which feed delivered this copy; a `ws` copy is kept over any other. */
  readonly source?: "ws" | "rest";
}

export interface ReferenceCandle {
  readonly symbol: string;
  readonly bucketStart: bigint;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly baseVolume: string;
  readonly quoteVolume: string;
  readonly vwap: string;
  readonly tradeCount: number;
  readonly buyVolume: string;
  readonly sellVolume: string;
  readonly firstTradeId: bigint;
  readonly lastTradeId: bigint;
}

export interface ReferenceDailySummary {
  readonly symbol: string;
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string;
  readonly open: string;
  readonly close: string;
  readonly return: number;
  readonly realizedVol: number;
  readonly maxDrawdown: number;
  readonly tradeCount: number;
  readonly minutes: number;
}

export interface ReferenceQuality {
  readonly symbol: string;
  readonly hour: bigint;
  readonly rows: number;
  readonly firstTradeId: bigint;
  readonly lastTradeId: bigint;
  readonly tradeIdGaps: number;
  readonly missingTrades: bigint;
  /** The skipped ids as `from-to` ranges (`id` for one), comma-separated, the first 20 then `…`. */
  readonly missingTradeIds: string;
  readonly lateArrivals: number;
}

const SCALE = 10n ** 10n;

/** Decimal string → integer units of 10^-10 (exact; throws beyond 10 fractional digits). */
export function toUnits(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  const [, sign, whole = "0", frac = ""] = m;
  if (frac.replace(/0+$/, "").length > 10) throw new Error(`more than 10 fractional digits: ${text}`);
  const units = BigInt(whole) * SCALE + BigInt(frac.padEnd(10, "0").slice(0, 10));
  return sign === "-" ? -units : units;
}

/** Integer units of 10^-10 → decimal text with exactly 10 fractional digits (DuckDB's DECIMAL(38,10) text). */
export function fromUnits(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / SCALE;
  const frac = (abs % SCALE).toString().padStart(10, "0");
  return `${neg ? "-" : ""}${whole}.${frac}`;
}

/** Half-up integer division for q >= 0, d > 0. */
function divRound(q: bigint, d: bigint): bigint {
  const base = q / d;
  return 2n * (q % d) >= d ? base + 1n : base;
}

/** One copy per (symbol, trade_id): the first `ws` copy if any, else the first in input order. */
export function dedupeTrades(trades: readonly ReferenceTrade[]): ReferenceTrade[] {
  const kept = new Map<string, ReferenceTrade>();
  for (const t of trades) {
    const key = `${t.symbol}|${t.tradeId}`;
    const had = kept.get(key);
    if (!had || (had.source !== "ws" && t.source === "ws")) kept.set(key, t);
  }
  return [...kept.values()];
}

function floorTo(micros: bigint, interval: bigint): bigint {
  const r = ((micros % interval) + interval) % interval;
  return micros - r;
}

interface Acc {
  symbol: string;
  bucket: bigint;
  openId: bigint;
  open: bigint;
  closeId: bigint;
  close: bigint;
  high: bigint;
  low: bigint;
  base: bigint;
  quote20: bigint;
  buy: bigint;
  sell: bigint;
  count: number;
}

/** Candles of one interval (µs) for deduplicated trades, sorted by symbol then bucket. */
export function referenceCandles(
  trades: readonly ReferenceTrade[],
  intervalMicros: bigint,
): ReferenceCandle[] {
  const acc = new Map<string, Acc>();
  for (const t of trades) {
    const bucket = floorTo(t.tsMicros, intervalMicros);
    const key = `${t.symbol}|${bucket}`;
    const p = toUnits(t.price);
    const q = toUnits(t.qty);
    let a = acc.get(key);
    if (!a) {
      a = {
        symbol: t.symbol,
        bucket,
        openId: t.tradeId,
        open: p,
        closeId: t.tradeId,
        close: p,
        high: p,
        low: p,
        base: 0n,
        quote20: 0n,
        buy: 0n,
        sell: 0n,
        count: 0,
      };
      acc.set(key, a);
    }
    if (t.tradeId < a.openId) {
      a.openId = t.tradeId;
      a.open = p;
    }
    if (t.tradeId > a.closeId) {
      a.closeId = t.tradeId;
      a.close = p;
    }
    if (p > a.high) a.high = p;
    if (p < a.low) a.low = p;
    a.base += q;
    a.quote20 += p * q;
    if (t.side === "buy") a.buy += q;
    else a.sell += q;
    a.count += 1;
  }
  return [...acc.values()]
    .sort((x, y) => (x.symbol === y.symbol ? cmp(x.bucket, y.bucket) : x.symbol < y.symbol ? -1 : 1))
    .map((a) => ({
      symbol: a.symbol,
      bucketStart: a.bucket,
      open: fromUnits(a.open),
      high: fromUnits(a.high),
      low: fromUnits(a.low),
      close: fromUnits(a.close),
      baseVolume: fromUnits(a.base),
      quoteVolume: fromUnits(divRound(a.quote20, SCALE)),
      vwap: fromUnits(divRound(a.quote20, a.base)),
      tradeCount: a.count,
      buyVolume: fromUnits(a.buy),
      sellVolume: fromUnits(a.sell),
      firstTradeId: a.openId,
      lastTradeId: a.closeId,
    }));
}

const MINUTE = 60_000_000n;
const HOUR = 3_600_000_000n;
const DAY = 86_400_000_000n;

/** Daily summaries: path = the day's open, then each 1-minute close (DOUBLE statistics). */
export function referenceDailySummary(trades: readonly ReferenceTrade[]): ReferenceDailySummary[] {
  const days = referenceCandles(trades, DAY);
  const minutes = referenceCandles(trades, MINUTE);
  const byDay = new Map<string, ReferenceCandle[]>();
  for (const m of minutes) {
    const key = `${m.symbol}|${floorTo(m.bucketStart, DAY)}`;
    const list = byDay.get(key) ?? [];
    list.push(m);
    byDay.set(key, list);
  }
  return days.map((d) => {
    const path = byDay.get(`${d.symbol}|${d.bucketStart}`) ?? [];
    let prev = Number(d.open);
    let peak = Number(d.open);
    let sumSq = 0;
    let mdd = 0;
    for (const m of path) {
      const c = Number(m.close);
      const r = Math.log(c / prev);
      sumSq += r * r;
      peak = Math.max(peak, c);
      mdd = Math.max(mdd, 1 - c / peak);
      prev = c;
    }
    return {
      symbol: d.symbol,
      day: new Date(Number(d.bucketStart / 1000n)).toISOString().slice(0, 10),
      open: d.open,
      close: d.close,
      return: Number(d.close) / Number(d.open) - 1,
      realizedVol: Math.sqrt(sumSq),
      maxDrawdown: mdd,
      tradeCount: d.tradeCount,
      minutes: path.length,
    };
  });
}

/** Per symbol and hour: rows, trade_id gaps (vs the previous trade of the symbol), late arrivals. */
export function referenceQuality(
  trades: readonly ReferenceTrade[],
  graceMinutes: number,
): ReferenceQuality[] {
  const ranges = new Map<string, string[]>();
  const sorted = [...trades].sort((a, b) =>
    a.symbol === b.symbol ? cmp(a.tradeId, b.tradeId) : a.symbol < b.symbol ? -1 : 1,
  );
  const out = new Map<string, { -readonly [K in keyof ReferenceQuality]: ReferenceQuality[K] }>();
  const grace = BigInt(graceMinutes) * MINUTE;
  let prev: ReferenceTrade | undefined;
  for (const t of sorted) {
    const hour = floorTo(t.tsMicros, HOUR);
    const key = `${t.symbol}|${hour}`;
    let q = out.get(key);
    if (!q) {
      q = {
        symbol: t.symbol,
        hour,
        rows: 0,
        firstTradeId: t.tradeId,
        lastTradeId: t.tradeId,
        tradeIdGaps: 0,
        missingTrades: 0n,
        missingTradeIds: "",
        lateArrivals: 0,
      };
      out.set(key, q);
    }
    q.rows += 1;
    if (t.tradeId < q.firstTradeId) q.firstTradeId = t.tradeId;
    if (t.tradeId > q.lastTradeId) q.lastTradeId = t.tradeId;
    if (prev && prev.symbol === t.symbol && t.tradeId - prev.tradeId > 1n) {
      q.tradeIdGaps += 1;
      q.missingTrades += t.tradeId - prev.tradeId - 1n;
      const from = prev.tradeId + 1n;
      const to = t.tradeId - 1n;
      ranges.set(key, [...(ranges.get(key) ?? []), from === to ? `${from}` : `${from}-${to}`]);
    }
    if (t.ingestedAtMicros !== undefined && t.ingestedAtMicros > hour + HOUR + grace) q.lateArrivals += 1;
    prev = t;
  }
  for (const [key, list] of ranges) {
    const q = out.get(key);
    if (q) q.missingTradeIds = list.slice(0, 20).join(",") + (list.length > 20 ? ",…" : "");
  }
  return [...out.values()].sort((a, b) =>
    a.symbol === b.symbol ? cmp(a.hour, b.hour) : a.symbol < b.symbol ? -1 : 1,
  );
}

/** Adapter for the simulator's ground truth (integer price ticks and lots, ns time). */
export function fromTapeTrade(
  symbol: string,
  t: {
    readonly tradeId: number;
    readonly priceUnits: bigint;
    readonly qtyUnits: bigint;
    readonly side: "buy" | "sell";
    readonly timeNs: bigint;
  },
  priceDecimals: number,
  lotDecimals: number,
): ReferenceTrade {
  return {
    symbol,
    tradeId: BigInt(t.tradeId),
    price: unitsText(t.priceUnits, priceDecimals),
    qty: unitsText(t.qtyUnits, lotDecimals),
    side: t.side,
    tsMicros: t.timeNs / 1000n,
  };
}

function unitsText(units: bigint, decimals: number): string {
  if (decimals === 0) return units.toString();
  const s = units.toString().padStart(decimals + 1, "0");
  return `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
