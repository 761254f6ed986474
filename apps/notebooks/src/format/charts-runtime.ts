/**
 * `tributary-charts.js`: vega, vega-lite and vega-embed bundled by Bun from the installed packages,
 * written beside the HTML reports so they turn interactive offline (no network at view time).
 * Built once per process.
 */
import { resolve } from "node:path";

export const CHARTS_RUNTIME_FILE = "tributary-charts.js";
const ENTRY = resolve(import.meta.dir, "embed-entry.js");
let built: Promise<string> | undefined;

export function chartsRuntime(): Promise<string> {
  built ??= (async () => {
    const result = await Bun.build({ entrypoints: [ENTRY], target: "browser", minify: true });
    const out = result.outputs[0];
    if (!result.success || !out)
      throw new Error(`cannot bundle the chart runtime: ${result.logs.join("; ")}`);
    return out.text();
  })();
  return built;
}
