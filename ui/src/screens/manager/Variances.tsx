// Counts that differ from the expected quantity by more than the tolerance, to approve or
// reject. Arrow keys choose a row; A approves, R rejects.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../../components/Action";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import type { Variance } from "../../contract";
import { useEnv, useKeys } from "../../env";
import { t } from "../../i18n";
import { formatTime } from "../../logic/format";

export function Variances() {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [rows, setRows] = useState<Variance[] | null>(null);
  const [selected, setSelected] = useState(0);

  async function load(): Promise<void> {
    try {
      const loaded = await backend.variances();
      setRows(loaded);
      setSelected((index) => Math.min(index, Math.max(0, loaded.length - 1)));
    } catch (error) {
      feedback.fail(error);
    }
  }
  useEffect(() => void load(), []);

  async function review(approve: boolean): Promise<void> {
    const row = rows?.[selected];
    if (row === undefined) return;
    try {
      const recorded = await backend.reviewCount(row.countedEvent, approve);
      feedback.success(approve ? t("variances.approved") : t("variances.rejected"), recorded.notices);
      await load();
    } catch (error) {
      feedback.fail(error);
    }
  }

  const count = rows?.length ?? 0;
  useKeys({
    ArrowDown: () => setSelected((index) => Math.min(index + 1, Math.max(0, count - 1))),
    ArrowUp: () => setSelected((index) => Math.max(index - 1, 0)),
  });

  if (rows !== null && rows.length === 0) return <p class="hint">{t("variances.none")}</p>;
  return (
    <>
      <table class="table">
        <thead>
          <tr>
            <th>{t("field.location")}</th>
            <th>{t("field.item")}</th>
            <th>{t("field.lot")}</th>
            <th class="number">{t("variances.counted")}</th>
            <th class="number">{t("variances.expected")}</th>
            <th class="number">{t("variances.variance")}</th>
            <th>{t("history.user")}</th>
            <th>{t("history.when")}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((row, index) => (
            <tr key={row.countedEvent} class={index === selected ? "selected" : ""} onClick={() => setSelected(index)}>
              <td>{row.location.code}</td>
              <td>{`${row.item.sku} · ${row.item.name}`}</td>
              <td>{row.lot ?? "-"}</td>
              <td class="number">{row.countedQty}</td>
              <td class="number">{row.expected}</td>
              <td class="number">{row.variance > 0 ? `+${row.variance}` : row.variance}</td>
              <td>{row.user}</td>
              <td>{formatTime(row.hlcMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <FeedbackBox message={feedback.message} />
      <Actions>
        <Action keyName="a" label={t("variances.approve")} tone="primary" disabled={count === 0} onRun={() => void review(true)} />
        <Action keyName="r" label={t("variances.reject")} tone="danger" disabled={count === 0} onRun={() => void review(false)} />
      </Actions>
    </>
  );
}
