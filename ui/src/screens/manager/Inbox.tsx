// The discrepancy inbox and the quarantined events with their reasons: read-only lists.

import { useEffect, useState } from "preact/hooks";

import { FeedbackBox, useFeedback } from "../../components/Feedback";
import type { Discrepancy, QuarantinedEvent } from "../../contract";
import { useEnv } from "../../env";
import { hasMessage, t } from "../../i18n";
import { eventKindLabel } from "../Lookup";
import { Scroll } from "../common";

/** What a discrepancy is, in words; a kind this UI does not know yet shows as sent. */
export function discrepancyKindLabel(kind: string): string {
  const key = `discrepancyKind.${kind}`;
  return hasMessage(key) ? t(key) : kind;
}

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
      <FeedbackBox message={feedback.message} />
      <Scroll>
      <table class="table table-fit">
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
              <td>{discrepancyKindLabel(row.kind)}</td>
              <td>{row.summary}</td>
              <td>{row.location?.code ?? ""}</td>
              <td>{row.item === undefined ? "" : `${row.item.sku} · ${row.item.name}`}</td>
              <td>{row.lot ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </Scroll>
    </>
  );
}

export function Quarantined() {
  const { backend } = useEnv();
  const { rows, feedback } = useLoaded<QuarantinedEvent>(() => backend.quarantined());
  if (rows !== null && rows.length === 0) return <p class="hint">{t("quarantined.none")}</p>;
  return (
    <>
      <FeedbackBox message={feedback.message} />
      <Scroll>
      <table class="table table-fit">
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
              <td>{eventKindLabel(row.kind)}</td>
              <td>{row.summary}</td>
              <td>{row.reason}</td>
              <td class="number">{row.attempts}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </Scroll>
    </>
  );
}
