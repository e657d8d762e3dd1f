// Apache ECharts, tree-shaken: only the charts and components the console
// uses are registered, which keeps the bundle near half the full build.

import { BarChart, LineChart, SankeyChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  LineChart,
  SankeyChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  DataZoomComponent,
  TitleComponent,
  MarkLineComponent,
  CanvasRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;
export type Chart = echarts.ECharts;

/** Palette shared by the charts and the CSS (water blues, reuse green, loss red). */
export const COLORS = {
  intake: '#1f6fb2',
  use: '#4aa3df',
  reuse: '#2e9e6b',
  discharge: '#8a6d3b',
  consumption: '#b4a17a',
  unaccounted: '#d0453a',
  rate: '#7b5ea7',
  grey: '#8c96a0',
};

// Screenshots in browser tests must not catch a chart mid-animation.
const animate = !navigator.webdriver;

const FONT = '"PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", system-ui, sans-serif';

/**
 * makeChart draws a chart in el and returns it. The element's
 * data-chart-state goes "rendering" → "finished" (or "error"), which tests
 * wait for. The chart follows the element's size and is disposed on cleanup.
 */
export function makeChart(el: HTMLElement, option: ChartOption, onCleanup: (fn: () => void) => void): Chart | null {
  el.dataset.chartState = 'rendering';
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  chart.on('finished', () => {
    el.dataset.chartState = 'finished';
  });
  try {
    chart.setOption({ animation: animate, textStyle: { fontFamily: FONT }, ...option });
  } catch (e) {
    chart.dispose();
    el.dataset.chartState = 'error';
    throw e;
  }
  const ro = new ResizeObserver(() => chart.resize());
  ro.observe(el);
  onCleanup(() => {
    ro.disconnect();
    if (!chart.isDisposed()) chart.dispose();
  });
  return chart;
}

/** SHANGHAI_OFFSET_MS shifts instants so that a UTC time axis shows Beijing wall time. */
export const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;
