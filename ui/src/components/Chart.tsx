// Stock on hand and variances over time, drawn with uPlot (about 50 kB, canvas, no DOM churn).
// Stock is a step function: it holds its value until the next event, so the on-hand line is
// drawn as steps (uPlot's stepped path, the step after each point), never as slopes between
// events; variances are single points on counts.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { SeriesPoint } from "../contract";
import { t } from "../i18n";

/** Axis text large and dark enough to read at arm's length. */
const AXIS_FONT = "bold 16px system-ui, sans-serif";
const AXIS_INK = "#0a0a0a";

/**
 * How tall the chart may be in a window `windowHeight` pixels tall: what is left under the
 * header, the tabs, the item field and the footer, so at 640x480 the whole chart (axes
 * included) is in view; never taller than 320 or shorter than 160.
 */
export function chartHeight(windowHeight: number): number {
  return Math.min(320, Math.max(160, windowHeight - 300));
}

/** Steps between time ticks, in seconds: never finer than a second. */
export const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400, 604800];

/** Tick labels for times in seconds: 24-hour HH:MM, with seconds when ticks are under a minute apart. */
export function timeTicks(ticks: number[]): string[] {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 60;
  const format: Intl.DateTimeFormatOptions =
    step < 60
      ? { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }
      : { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return ticks.map((tick) => new Date(tick * 1000).toLocaleTimeString([], format));
}

/** The chart's options for a plot `width` pixels wide and `height` tall. */
export function chartOptions(width: number, height = 320): uPlot.Options {
  const axis = { font: AXIS_FONT, labelFont: AXIS_FONT, stroke: AXIS_INK, size: 56 };
  return {
    width,
    height,
    series: [
      {},
      { label: t("chart.onHand"), stroke: "#0b3d91", width: 3, paths: uPlot.paths.stepped?.({ align: 1 }) },
      { label: t("chart.variance"), stroke: "#b00020", width: 0, points: { show: true, size: 10, fill: "#b00020" } },
    ],
    // Time ticks as a clock reads (14:05, or 14:05:30 within a few minutes), never uPlot's
    // sub-second ":32.250" for events close together.
    // Whole seconds at the finest, and room for a label between ticks.
    axes: [
      { ...axis, space: 110, incrs: TIME_STEPS, values: (_plot, ticks) => timeTicks(ticks) },
      { ...axis, label: t("chart.quantity"), size: 72 },
    ],
  };
}

export function StockChart({ points }: { points: SeriesPoint[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (host.current === null || points.length === 0) return;
    const data: uPlot.AlignedData = [
      points.map((point) => point.hlcMs / 1000),
      points.map((point) => point.onHand),
      points.map((point) => point.variance ?? null),
    ];
    const plot = new uPlot(
      chartOptions(Math.max(320, host.current.clientWidth), chartHeight(window.innerHeight)),
      data,
      host.current,
    );
    return () => plot.destroy();
  }, [points]);
  return <div class="chart" ref={host} />;
}
