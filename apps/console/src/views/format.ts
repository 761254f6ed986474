/** How the console writes times (RFC 3339 UTC), ages, sizes, counts and statuses. */
import { type Html, html } from "./html.ts";

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export function fmtAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const fmtInt = (n: number | string | null | undefined): string => {
  if (n === null || n === undefined) return "—";
  if (typeof n === "number" && !Number.isInteger(n)) return String(n);
  return /^-?\d+$/.test(String(n)) ? BigInt(n).toLocaleString("en-US") : String(n);
};

export function statusBadge(status: string): Html {
  const cls =
    status === "succeeded" || status === "up" || status === "done" || status === "running"
      ? "ok"
      : status === "skipped" || status === "pending" || status === "claimed" || status === "stopped"
        ? "warn"
        : "bad";
  return html`<span class="badge ${cls}">${status}</span>`;
}

export const micro = (us: number | null): number | null => (us === null ? null : us / 1000);
