/**
 * Exact decimal strings. Money never becomes a binary float: prices and quantities move as
 * canonical decimal text and land in Parquet as DECIMAL.
 */

const DECIMAL = /^-?\d+(\.\d+)?$/;

export class DecimalFormatError extends Error {
  override readonly name = "DecimalFormatError";
}

export function isDecimalString(text: string): boolean {
  return DECIMAL.test(text);
}

/** Validates a decimal string and pads or checks it to `scale` fractional digits (never rounds). */
export function toScale(text: string, scale: number): string {
  if (!DECIMAL.test(text)) throw new DecimalFormatError(`not a decimal: ${JSON.stringify(text)}`);
  const [whole = "0", frac = ""] = text.split(".");
  if (frac.length > scale) {
    const extra = frac.slice(scale);
    if (/[^0]/.test(extra)) {
      throw new DecimalFormatError(`${text} has more than ${scale} fractional digits`);
    }
  }
  if (scale === 0) return whole;
  return `${whole}.${frac.slice(0, scale).padEnd(scale, "0")}`;
}

/**
 * Rebuilds the exact decimal text of a JSON number token (WS v2 sends prices as numbers).
 * Takes the raw token so that "0.00044780" keeps its digits; exponent forms are expanded.
 */
export function numberTokenToDecimal(token: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (!m) throw new DecimalFormatError(`not a JSON number: ${JSON.stringify(token)}`);
  const [, sign = "", intPart = "0", fracPart = "", expText] = m;
  const exp = expText ? Number(expText) : 0;
  let digits = intPart + fracPart;
  let point = intPart.length + exp;
  if (point <= 0) {
    digits = "0".repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) {
    digits = digits.padEnd(point, "0");
  }
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, "");
  const frac = digits.slice(point);
  return `${sign}${whole}${frac ? `.${frac}` : ""}`;
}

/** Compares two decimal strings exactly: -1, 0 or 1. */
export function compareDecimal(a: string, b: string): number {
  const scale = Math.max(fracLen(a), fracLen(b));
  const x = BigInt(toScale(a, scale).replace(".", ""));
  const y = BigInt(toScale(b, scale).replace(".", ""));
  return x < y ? -1 : x > y ? 1 : 0;
}

function fracLen(text: string): number {
  const i = text.indexOf(".");
  return i < 0 ? 0 : text.length - i - 1;
}
