// The discrepancy inbox and the quarantined events with their reasons: read-only lists.

import { useEffect, useState } from "preact/hooks";

import { FeedbackBox, useFeedback } from "../../components/Feedback";
import type { Discrepancy, QuarantinedEvent } from "../../contract";
import { useEnv } from "../../env";
import { t } from "../../i18n";

function useLoaded<T>(load: () => Promise<T[]>): { rows: T[] | null; feedback: ReturnType<typeof useFeedback> } {
  const feedback = useFeedback();
  const [rows, setRows] = useState<T[] | null>(null);
  useEffect(() => {
    load().then(setRows, (error: unknown) => feedback.fail(error));
  }, []);
  return { rows, feedback };
}

export function Discrepancies() {
  const { backend } = useEnv();
  const { rows, feedback } = useLoaded<Discrepancy>(() => backend.discrepancies());
  if (rows !== null && rows.length === 0) return <p class="hint">{t("discrepancies.none")}</p>;
  return (
    <>
      <table class="table">
        <thead>
          <tr>
            <th>{t("history.kind")}</th>
            <th>{t("history.summary")}</th>
            <th>{t("field.location")}</th>
            <th>{t("field.item")}</th>
            <th>{t("field.lot")}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((row) => (
            <tr key={row.id}>
              <td>{row.kind}</td>
              <td>{row.summary}</td>
              <td>{row.location?.code ?? "-"}</td>
              <td>{row.item?.sku ?? "-"}</td>
              <td>{row.lot ?? "-"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <FeedbackBox message={feedback.message} />
    </>
  );
}

export function Quarantined() {
  const { backend } = useEnv();
  const { rows, feedback } = useLoaded<QuarantinedEvent>(() => backend.quarantined());
  if (rows !== null && rows.length === 0) return <p class="hint">{t("quarantined.none")}</p>;
  return (
    <>
      <table class="table">
        <thead>
          <tr>
            <th>{t("history.kind")}</th>
            <th>{t("history.summary")}</th>
            <th>{t("quarantined.reason")}</th>
            <th class="number">{t("quarantined.attempts")}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((row) => (
            <tr key={row.eventId}>
              <td>{row.kind}</td>
              <td>{row.summary}</td>
              <td>{row.reason}</td>
              <td class="number">{row.attempts}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <FeedbackBox message={feedback.message} />
    </>
  );
}
