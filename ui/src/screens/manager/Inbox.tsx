// The discrepancy inbox and the quarantined events with their reasons. An event refused only
// for its clock can be recorded again now (F3 on the row chosen with the arrow keys); the
// rest is read-only.

import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../../components/Action";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import type { Discrepancy, QuarantinedEvent } from "../../contract";
import { useEnv, useKeys } from "../../env";
import { hasMessage, t } from "../../i18n";
import { eventKindLabel } from "../Lookup";
import { Scroll, useRereadOnPull } from "../common";

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
  // What other PCs did shows as it lands; a failed background read keeps the rows shown.
  useRereadOnPull(() => void load().then(setRows, () => {}));
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
  const feedback = useFeedback();
  const [rows, setRows] = useState<QuarantinedEvent[] | null>(null);
  const [selected, setSelected] = useState(0);

  async function load(): Promise<void> {
    try {
      const loaded = await backend.quarantined();
      setRows(loaded);
      // The first row that can be recorded again is the one the action is for.
      const first = loaded.findIndex((row) => row.canRecordAgain);
      setSelected(first < 0 ? 0 : first);
    } catch (error) {
      feedback.fail(error);
    }
  }
  useEffect(() => void load(), []);

  const count = rows?.length ?? 0;
  useKeys({
    ArrowDown: () => setSelected((index) => Math.min(index + 1, Math.max(0, count - 1))),
    ArrowUp: () => setSelected((index) => Math.max(index - 1, 0)),
  });

  const chosen = rows?.[selected];
  async function recordAgain(row: QuarantinedEvent): Promise<void> {
    try {
      const recorded = await backend.recordAgain(row.eventId);
      feedback.success(t("quarantined.recordedAgain", { summary: row.summary }), recorded.notices);
      await load();
    } catch (error) {
      feedback.fail(error);
    }
  }

  if (rows !== null && rows.length === 0) {
    return (
      <>
        <FeedbackBox message={feedback.message} />
        <p class="hint">{t("quarantined.none")}</p>
      </>
    );
  }
  return (
    <>
      {rows?.some((row) => row.canRecordAgain) === true && (
        <Actions>
          <Action
            keyName="F3"
            label={t("quarantined.recordAgain")}
            tone="primary"
            disabled={chosen?.canRecordAgain !== true}
            onRun={() => chosen !== undefined && chosen.canRecordAgain && void recordAgain(chosen)}
          />
        </Actions>
      )}
      <FeedbackBox message={feedback.message} />
      <Scroll>
      <table class="table table-fit" data-testid="quarantined">
        <thead>
          <tr>
            <th>{t("history.kind")}</th>
            <th>{t("history.summary")}</th>
            <th>{t("quarantined.reason")}</th>
            <th class="number">{t("quarantined.attempts")}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((row, index) => (
            <tr key={row.eventId} class={index === selected ? "selected" : ""} onClick={() => setSelected(index)}>
              <td>{eventKindLabel(row.kind)}</td>
              <td>{row.summary}</td>
              <td>
                {row.reason}
                {row.canRecordAgain && <p class="hint">{t("quarantined.canRecordAgain")}</p>}
              </td>
              <td class="number">{row.attempts}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </Scroll>
    </>
  );
}
