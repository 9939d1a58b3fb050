// Stock on hand and variances over time, drawn with uPlot (about 50 kB, canvas, no DOM churn).

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { SeriesPoint } from "../contract";
import { t } from "../i18n";

export function StockChart({ points }: { points: SeriesPoint[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (host.current === null || points.length === 0) return;
    const data: uPlot.AlignedData = [
      points.map((point) => point.hlcMs / 1000),
      points.map((point) => point.onHand),
      points.map((point) => point.variance),
    ];
    const plot = new uPlot(
      {
        width: Math.max(320, host.current.clientWidth),
        height: 320,
        series: [
          {},
          { label: t("chart.onHand"), stroke: "#0b3d91", width: 3 },
          { label: t("chart.variance"), stroke: "#b00020", width: 2, dash: [8, 4] },
        ],
        axes: [{}, { label: t("chart.quantity") }],
      },
      data,
      host.current,
    );
    return () => plot.destroy();
  }, [points]);
  return <div class="chart" ref={host} />;
}
