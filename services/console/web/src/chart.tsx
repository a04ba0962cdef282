import { BarChart, FunnelChart, LineChart } from 'echarts/charts';
import { DatasetComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';
import { useEffect, useRef } from 'react';

// Only the pieces the pages draw, so the bundle carries no more of ECharts than that.
echarts.use([BarChart, LineChart, FunnelChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, DatasetComponent, SVGRenderer]);

export interface ChartProps {
  option: EChartsCoreOption;
  /** What the chart shows, for screen readers and as the figure's tooltip (its definition). */
  label: string;
  height?: number;
}

/** A small wrapper around echarts.init: one instance per element, resized with its box. */
export function Chart({ option, label, height = 280 }: ChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    // SVG: crisp at any zoom and works without a canvas (jsdom in tests).
    const instance = echarts.init(el, null, { renderer: 'svg', width: el.clientWidth || 600, height });
    chart.current = instance;
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => instance.resize({ width: el.clientWidth || 600, height }));
    observer?.observe(el);
    return () => {
      observer?.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, [height]);

  useEffect(() => {
    // No animation: figures an operator reads should be there at once, whole (and a screenshot sees them).
    chart.current?.setOption({ animation: false, ...option }, { notMerge: true });
  }, [option]);

  return <div ref={ref} className="chart" role="img" aria-label={label} title={label} style={{ height }} />;
}

/** A consistent, legible palette (colour-blind safe order). */
export const palette = ['#2f6fba', '#e08a2c', '#3a9e6f', '#c2464d', '#7d5bb5', '#8c6d3f', '#d16fb0', '#6b7280', '#1aa3b5', '#b5a11a'];
