// Look up: scan anything (an item, a location or a lot) to see stock by location and lot,
// and the recent history.

import { useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { HistoryEntry, LookupAnswer, Resolved } from "../contract";
import { useEnv, useScan } from "../env";
import { hasMessage, t } from "../i18n";
import { formatTime } from "../logic/format";
import { Prompt } from "./common";

export function describeResolved(resolved: Resolved): string {
  if (resolved.kind === "location") return t("lookup.location", { code: resolved.location.code, name: resolved.location.name });
  if (resolved.kind === "badge") return t("lookup.badge", { badge: resolved.badge });
  return t("lookup.item", { sku: resolved.item.sku, name: resolved.item.name });
}

/** The kind's label; an event kind this UI does not know yet shows as sent. */
export function eventKindLabel(kind: string): string {
  const key = `eventKind.${kind}`;
  return hasMessage(key) ? t(key) : kind;
}

export function HistoryTable({ entries }: { entries: HistoryEntry[] }) {
  if (entries.length === 0) return <p class="hint">{t("history.empty")}</p>;
  return (
    <table class="table">
      <thead>
        <tr>
          <th>{t("history.when")}</th>
          <th>{t("history.kind")}</th>
          <th>{t("history.summary")}</th>
          <th>{t("history.user")}</th>
          <th>{t("history.device")}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => (
          <tr key={entry.eventId}>
            <td>{formatTime(entry.hlcMs)}</td>
            <td>{eventKindLabel(entry.kind)}</td>
            <td>{entry.summary}</td>
            <td>{entry.user}</td>
            <td>{entry.device}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Lookup({ onBack }: { onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [scanText, setScanText] = useState("");
  const [answer, setAnswer] = useState<LookupAnswer | null>(null);

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    if (raw.trim() === "") return;
    try {
      setAnswer(await backend.lookup(raw.trim()));
      feedback.clear();
    } catch (error) {
      setAnswer(null);
      feedback.fail(error);
    }
  }
  useScan((raw) => void onScan(raw));

  return (
    <section class="screen">
      <Prompt>{t("lookup.scan")}</Prompt>
      <Field id="lookup-scan" label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
      <FeedbackBox message={feedback.message} />
      {answer !== null && (
        <>
          <h2>{describeResolved(answer.resolved)}</h2>
          {answer.rows.length === 0 ? (
            <p class="hint">{t("lookup.noStock")}</p>
          ) : (
            <table class="table">
              <thead>
                <tr>
                  <th>{t("field.location")}</th>
                  <th>{t("field.item")}</th>
                  <th>{t("field.lot")}</th>
                  <th class="number">{t("lookup.onHand")}</th>
                </tr>
              </thead>
              <tbody>
                {answer.rows.map((row) => (
                  <tr key={`${row.location.id}/${row.item.id}/${row.lot ?? ""}`}>
                    <td>{row.location.code}</td>
                    <td>{`${row.item.sku} · ${row.item.name}`}</td>
                    <td>{row.lot ?? "-"}</td>
                    <td class="number">{row.onHand}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>{t("lookup.history")}</h3>
          <HistoryTable entries={answer.history} />
        </>
      )}
      <Actions>
        <Action keyName="Escape" label={t("action.home")} onRun={onBack} />
      </Actions>
    </section>
  );
}
