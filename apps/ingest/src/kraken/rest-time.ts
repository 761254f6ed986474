/**
 * Kraken's REST trade `time`: the trade's nanosecond instant as the nearest float64 of seconds, printed
 * in shortest round-trip form (`1762820035.9822779` for 1762820035982277754 ns). The float is about
 * 240 ns coarse, so a token stands for a range of instants; only a page's `last` is exact. Exact
 * arithmetic on the float's bits (bigint), never float division.
 */

const NS_PER_S = 1_000_000_000n;

/** The exact value of a finite positive double as `num / 2^shift`. */
function exactDouble(d: number): { num: bigint; shift: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mantissa = exp === 0 ? frac : frac | (1n << 52n);
  const e = (exp === 0 ? 1 : exp) - 1075;
  return e >= 0 ? { num: mantissa << BigInt(e), shift: 0 } : { num: mantissa, shift: -e };
}

function adjacent(d: number, step: 1n | -1n): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  view.setBigUint64(0, view.getBigUint64(0) + step);
  return view.getFloat64(0);
}

/** |d − ns/1e9| scaled by 1e9·2^shift, compared exactly. */
function distance(d: number, ns: bigint): { num: bigint; shift: bigint } {
  const { num, shift: s } = exactDouble(d);
  const shift = BigInt(s);
  const diff = num * NS_PER_S - (ns << shift);
  return { num: diff < 0n ? -diff : diff, shift };
}

function closer(a: number, b: number, ns: bigint): boolean {
  const da = distance(a, ns);
  const db = distance(b, ns);
  // da.num / 2^da.shift < db.num / 2^db.shift
  return da.num << db.shift < db.num << da.shift;
}

/** The float64 nearest to `ns` nanoseconds in seconds (correctly rounded, unlike Number(ns) / 1e9). */
export function nearestSeconds(ns: bigint): number {
  if (ns <= 0n) return 0;
  let best = Number(ns) / 1e9;
  for (const c of [adjacent(best, -1n), adjacent(best, 1n)]) if (closer(c, best, ns)) best = c;
  return best;
}

/** The last instant printed: the fills of a sweep share it. */
let lastPrinted: { ns: bigint; text: string } | undefined;

/** Kraken's REST `time` token for an instant: the nearest double, printed in shortest round-trip form. */
export function restTimeToken(ns: bigint): string {
  if (lastPrinted?.ns === ns) return lastPrinted.text;
  const shortest = String(nearestSeconds(ns));
  const text = shortest.includes(".") || shortest.includes("e") ? shortest : `${shortest}.0`;
  lastPrinted = { ns, text };
  return text;
}

/**
 * The instants (ns, inclusive bounds) whose nearest double is the one `token` denotes: every true
 * time Kraken may have printed as `token`. About 240 ns wide in this century.
 */
export function restTimeRange(token: string): { readonly lo: bigint; readonly hi: bigint } {
  if (lastRange?.token === token) return lastRange.range;
  const range = computeRange(token);
  lastRange = { token, range };
  return range;
}

/** The last token read: the fills of a sweep share it. */
let lastRange: { token: string; range: { readonly lo: bigint; readonly hi: bigint } } | undefined;

function computeRange(token: string): { readonly lo: bigint; readonly hi: bigint } {
  const d = Number(token);
  if (!Number.isFinite(d) || d < 0) throw new RangeError(`REST time ${JSON.stringify(token)} is not a time`);
  if (d === 0) return { lo: 0n, hi: 0n };
  const here = exactDouble(d);
  const below = exactDouble(adjacent(d, -1n));
  const above = exactDouble(adjacent(d, 1n));
  const s = Math.max(here.shift, below.shift, above.shift);
  const scaled = (x: { num: bigint; shift: number }) => x.num << BigInt(s - x.shift);
  // The halfway points to the neighbouring doubles are (H + B) / 2^(s+1) and (H + A) / 2^(s+1) seconds.
  const unit = 1n << BigInt(s + 1);
  const loExact = (scaled(here) + scaled(below)) * NS_PER_S;
  const hiExact = (scaled(here) + scaled(above)) * NS_PER_S;
  let lo = (loExact + unit - 1n) / unit;
  let hi = hiExact / unit;
  // An instant exactly halfway rounds to the even mantissa: it belongs to d only if d's is even.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const even = (view.getBigUint64(0) & 1n) === 0n;
  if (!even && lo * unit === loExact) lo += 1n;
  if (!even && hi * unit === hiExact) hi -= 1n;
  return { lo, hi };
}
