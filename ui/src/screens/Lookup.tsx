// Look up: scan anything (an item, a location or a lot) to see stock by location and lot,
// and the recent history. A manager can ask for any row to be counted (F2-F8 for the first
// rows, or the row's button); the request shows on the Count screen as a task with the note.

import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { HistoryEntry, LookupAnswer, Resolved, Role, StockRow } from "../contract";
import { useEnv, useKeys, useScan } from "../env";
import { hasMessage, t } from "../i18n";
import { formatTime } from "../logic/format";
import { isManager } from "../logic/roles";
import { Prompt, Scroll, useRereadOnPull } from "./common";

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

/** This PC's device id, once the backend said it (null until then, or when it cannot). */
function useThisDevice(): string | null {
  const { backend } = useEnv();
  const [device, setDevice] = useState<string | null>(null);
  useEffect(() => {
    backend.appStatus().then((status) => setDevice(status.profile?.device ?? null), () => {});
  }, []);
  return device;
}

/**
 * A device as a person reads it: this PC by its word, another by the name the backend sent
 * with the entry, or else by the first characters of its id (enough to tell PCs apart).
 */
export function deviceLabel(entry: HistoryEntry, thisDevice: string | null): string {
  if (thisDevice !== null && entry.device === thisDevice) return t("history.thisDevice");
  if (entry.deviceName !== undefined && entry.deviceName !== "") return entry.deviceName;
  return t("history.otherDevice", { id: entry.device.slice(0, 8) });
}

export function HistoryTable({ entries }: { entries: HistoryEntry[] }) {
  const thisDevice = useThisDevice();
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
            <td>{deviceLabel(entry, thisDevice)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Rows whose request has a key of its own: F2 to F8 (F9 and F10 belong to the app bar). */
const ROW_KEYS = ["F2", "F3", "F4", "F5", "F6", "F7", "F8"] as const;

/** The key that requests a count of row `index`, if it has one. */
export function rowKey(index: number): string | undefined {
  return ROW_KEYS[index];
}

/** A row's large "Request count" button, answering to its F-key when it has one. */
function RequestButton({ index, onRun }: { index: number; onRun: () => void }) {
  const keyName = rowKey(index);
  useKeys(keyName === undefined ? {} : { [keyName]: onRun });
  return (
    <button type="button" class="action action-plain" data-testid={`request-count-${index}`} onClick={onRun}>
      {keyName !== undefined && <kbd class="key-cap">{keyName}</kbd>}
      <span>{t("lookup.requestCount")}</span>
    </button>
  );
}

/** The stock table's columns: a manager's has the request button's. */
function columns(manager: boolean): number {
  return manager ? 5 : 4;
}

function rowId(row: StockRow): string {
  return `${row.location.id}/${row.item.id}/${row.lot ?? ""}`;
}

export function Lookup({ onBack, role = "picker" }: { onBack: () => void; role?: Role }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [scanText, setScanText] = useState("");
  const [answer, setAnswer] = useState<LookupAnswer | null>(null);
  /** The row a manager is asking to be counted, while the note is typed. */
  const [requesting, setRequesting] = useState<StockRow | null>(null);
  const [note, setNote] = useState("");
  const manager = isManager(role);
  /** What the shown answer was looked up by, to read it again as pulled events land. */
  const [asked, setAsked] = useState<string | null>(null);
  useRereadOnPull(() => {
    if (asked !== null) void backend.lookup(asked).then(setAnswer, () => {});
  });

  function startRequest(row: StockRow): void {
    setRequesting(row);
    setNote("");
    feedback.clear();
  }

  async function sendRequest(text: string): Promise<void> {
    if (requesting === null) return;
    const row = requesting;
    try {
      await backend.requestCount({ location: row.location.id, item: row.item.id, lot: row.lot, note: text.trim() });
      setRequesting(null);
      feedback.success(t("lookup.requested", { sku: row.item.sku, code: row.location.code }));
    } catch (error) {
      feedback.fail(error);
    }
  }

  function back(): void {
    if (requesting !== null) {
      setRequesting(null);
      feedback.clear();
    } else onBack();
  }

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    if (requesting !== null) {
      feedback.refuse(t("scan.notNow"));
      return;
    }
    if (raw.trim() === "") return;
    try {
      setAnswer(await backend.lookup(raw.trim()));
      setAsked(raw.trim());
      feedback.clear();
    } catch (error) {
      setAnswer(null);
      setAsked(null);
      feedback.fail(error);
    }
  }
  useScan((raw) => void onScan(raw));

  if (requesting !== null) {
    const what = { sku: requesting.item.sku, code: requesting.location.code, lot: requesting.lot ?? "" };
    return (
      <section class="screen">
        <Prompt>{requesting.lot === undefined ? t("lookup.requestFor", what) : t("lookup.requestForLot", what)}</Prompt>
        <Field id="lookup-note" label={t("field.note")} value={note} onValue={setNote} onEnter={(value) => void sendRequest(value)} focused />
        <FeedbackBox message={feedback.message} />
        <Actions>
          <Action keyName="F2" label={t("lookup.sendRequest")} tone="primary" onRun={() => void sendRequest(note)} />
          <Action keyName="Escape" label={t("action.back")} onRun={back} />
        </Actions>
      </section>
    );
  }

  return (
    <section class="screen">
      <Prompt>{t("lookup.scan")}</Prompt>
      <Field id="lookup-scan" label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
      <FeedbackBox message={feedback.message} />
      {answer !== null && (
        <Scroll>
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
                  {manager && <th>{t("lookup.requestCount")}</th>}
                </tr>
              </thead>
              <tbody>
                {answer.rows.map((row, index) => (
                  <Fragment key={rowId(row)}>
                    <tr>
                      <td>{row.location.code}</td>
                      <td>{`${row.item.sku} · ${row.item.name}`}</td>
                      <td>{row.lot ?? "-"}</td>
                      <td class="number">{row.onHand}</td>
                      {manager && (
                        <td>
                          <RequestButton index={index} onRun={() => startRequest(row)} />
                        </td>
                      )}
                    </tr>
                    {row.needsUpdate !== undefined && (
                      <tr class="stock-mark">
                        <td colSpan={columns(manager)}>{t("stock.needsUpdate", { version: row.needsUpdate })}</td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          )}
          <h3>{t("lookup.history")}</h3>
          <HistoryTable entries={answer.history} />
        </Scroll>
      )}
      <Actions>
        <Action keyName="Escape" label={t("action.home")} onRun={back} />
      </Actions>
    </section>
  );
}
