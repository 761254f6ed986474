export { chartNumber, STACKED_Y_AXIS_WIDTH } from "./axes.ts";
export { type BarDatum, type BarOptions, barChart, barSpec } from "./bar.ts";
export { type Candle, type CandlestickOptions, candlestick, candlestickSpec } from "./candlestick.ts";
export {
  type Chart,
  countMarkItems,
  type PlotArea,
  plotAreas,
  renderChart,
  VEGA_LITE_MIME,
} from "./chart.ts";
export { type HeatCell, type HeatmapOptions, heatmap, heatmapSpec } from "./heatmap.ts";
export { binValues, type HistogramOptions, histogram, histogramSpec } from "./histogram.ts";
export { type LineOptions, type LinePoint, lineChart, lineSpec } from "./line.ts";
