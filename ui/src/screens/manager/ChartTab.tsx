// Stock and variances over time for one item: scan or type the item.

import { useState } from "preact/hooks";

import { StockChart } from "../../components/Chart";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import { Field } from "../../components/Field";
import type { Item, SeriesPoint } from "../../contract";
import { useEnv, useScan } from "../../env";
import { t } from "../../i18n";
import { resolveOrReport } from "../common";

export function ChartTab() {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [text, setText] = useState("");
  const [item, setItem] = useState<Item | null>(null);
  const [points, setPoints] = useState<SeriesPoint[]>([]);

  async function show(raw: string): Promise<void> {
    setText("");
    const resolved = await resolveOrReport(backend, feedback, raw);
    if (resolved === null) return;
    if (resolved.kind !== "item") {
      feedback.refuse(t("scan.expectedItem"));
      return;
    }
    try {
      setPoints(await backend.stockSeries(resolved.item.id));
      setItem(resolved.item);
      feedback.clear();
    } catch (error) {
      feedback.fail(error);
    }
  }
  useScan((raw) => void show(raw));

  return (
    <>
      <Field id="chart-item" label={t("chart.scanItem")} value={text} onValue={setText} onEnter={(value) => void show(value)} focused />
      <FeedbackBox message={feedback.message} />
      {item !== null && <h2>{t("chart.title", { sku: item.sku, name: item.name })}</h2>}
      {item !== null && points.length === 0 && <p class="hint">{t("chart.empty")}</p>}
      <StockChart points={points} />
    </>
  );
}
