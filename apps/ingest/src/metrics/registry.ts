/** A tiny Prometheus registry: counters and gauges with labels, rendered in the text exposition format. */

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly series: Map<string, { labels: Labels; value: number }>;
  /** Computed at scrape time instead of stored. */
  readonly collect?: () => readonly { labels: Labels; value: number }[];
}

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] as string)}"`).join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, type: Family["type"], collect?: Family["collect"]): Family {
    let f = this.families.get(name);
    if (!f) {
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
      f = { name, help, type, series: new Map(), ...(collect ? { collect } : {}) };
      this.families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const f = this.family(name, help, "counter");
    return (labels = {}, by = 1) => {
      const k = key(labels);
      const s = f.series.get(k);
      if (s) s.value += by;
      else f.series.set(k, { labels, value: by });
    };
  }

  gauge(name: string, help: string): (labels: Labels, value: number) => void {
    const f = this.family(name, help, "gauge");
    return (labels, value) => {
      f.series.set(key(labels), { labels, value });
    };
  }

  /** A gauge whose series are computed at scrape time. */
  collectedGauge(
    name: string,
    help: string,
    collect: () => readonly { labels: Labels; value: number }[],
  ): void {
    this.family(name, help, "gauge", collect);
  }

  /** Current value of one series (tests, health). */
  value(name: string, labels: Labels = {}): number {
    const f = this.families.get(name);
    if (!f) return 0;
    if (f.collect) return f.collect().find((s) => key(s.labels) === key(labels))?.value ?? 0;
    return f.series.get(key(labels))?.value ?? 0;
  }

  /** Sum over every series of a family. */
  total(name: string): number {
    const f = this.families.get(name);
    if (!f) return 0;
    const series = f.collect ? f.collect() : [...f.series.values()];
    return series.reduce((s, x) => s + x.value, 0);
  }

  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      const series = f.collect ? f.collect() : [...f.series.values()];
      for (const s of series) out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
    return `${out.join("\n")}\n`;
  }
}
