// Counts that differ from the expected quantity by more than the tolerance, to approve or
// reject. Arrow keys choose a row; A (or R) asks, and A (or R) again or Enter confirms, Esc
// cancels: one key more than before, so a stray key never decides a count.

import { useEffect, useRef, useState } from "preact/hooks";

import { Action, Actions } from "../../components/Action";
import { FeedbackBox, useFeedback } from "../../components/Feedback";
import type { Variance } from "../../contract";
import { useEnv, useKeys } from "../../env";
import { t } from "../../i18n";
import { formatTime } from "../../logic/format";
import { Scroll, useRereadOnPull } from "../common";

/** A count's stock key: location, item and lot. */
function keyOf(row: Variance): string {
  return `${row.location.id}/${row.item.id}/${row.lot ?? ""}`;
}

/**
 * The rows to show: per key only the newest count (a recount supersedes the first count,
 * which would otherwise show twice), and nothing of a key whose newer count was decided here
 * already (the first count may stay open in the store after its recount was decided).
 */
export function visibleVariances(rows: Variance[], decided: ReadonlyMap<string, number>): Variance[] {
  const newest = new Map<string, Variance>();
  for (const row of rows) {
    const seen = newest.get(keyOf(row));
    if (seen === undefined || (row.hlcMs ?? 0) > (seen.hlcMs ?? 0)) newest.set(keyOf(row), row);
  }
  return rows.filter((row) => newest.get(keyOf(row)) === row && !((decided.get(keyOf(row)) ?? -1) >= (row.hlcMs ?? 0)));
}

/** A decision asked for and not yet confirmed. */
interface Pending {
  row: Variance;
  approve: boolean;
}

export function Variances() {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [rows, setRows] = useState<Variance[] | null>(null);
  const [selected, setSelected] = useState(0);
  const [pending, setPending] = useState<Pending | null>(null);
  /** Keys decided on this screen, with the time of the count that was decided. */
  const decided = useRef(new Map<string, number>());

  /** Reads the variances; `quietly` (a read because sync pulled something) keeps what the
   * manager is being told when it fails. */
  async function load(quietly = false): Promise<void> {
    try {
      const loaded = visibleVariances(await backend.variances(), decided.current);
      setRows(loaded);
      setSelected((index) => Math.min(index, Math.max(0, loaded.length - 1)));
    } catch (error) {
      if (!quietly) feedback.fail(error);
    }
  }
  useEffect(() => void load(), []);
  // A count from another PC that needs review, or a review made elsewhere, shows as it lands.
  useRereadOnPull(() => void load(true));

  function ask(approve: boolean): void {
    const row = rows?.[selected];
    if (row === undefined) return;
    feedback.clear();
    setPending({ row, approve });
  }

  async function review(decision: Pending): Promise<void> {
    setPending(null);
    try {
      const recorded = await backend.reviewCount(decision.row.countedEvent, decision.approve);
      // The decided row and any older count of its key go at once, whatever the reload brings back.
      decided.current.set(keyOf(decision.row), decision.row.hlcMs ?? 0);
      setRows((current) => (current === null ? null : visibleVariances(current, decided.current)));
      feedback.success(decision.approve ? t("variances.approved") : t("variances.rejected"), recorded.notices);
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

  if (rows !== null && rows.length === 0) {
    return (
      <>
        <FeedbackBox message={feedback.message} />
        <p class="hint">{t("variances.none")}</p>
      </>
    );
  }
  return (
    <>
      {pending === null ? (
        <Actions>
          <Action keyName="a" label={t("variances.approve")} tone="primary" disabled={count === 0} onRun={() => ask(true)} />
          <Action keyName="r" label={t("variances.reject")} tone="danger" disabled={count === 0} onRun={() => ask(false)} />
        </Actions>
      ) : (
        <Confirm pending={pending} onConfirm={() => void review(pending)} onCancel={() => setPending(null)} />
      )}
      <FeedbackBox message={feedback.message} />
      <Scroll>
        <table class="table table-fit" data-testid="variances">
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
                <td>{row.item.sku}</td>
                <td>{row.lot ?? ""}</td>
                <td class="number">{row.countedQty}</td>
                <td class="number">{row.expected}</td>
                <td class="number">{row.variance > 0 ? `+${row.variance}` : row.variance}</td>
                <td>{row.user}</td>
                <td>{row.hlcMs === undefined ? "" : formatTime(row.hlcMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
    </>
  );
}

/**
 * The confirm step: Enter or the same letter again decides, Esc cancels. Mounted only while
 * asking, so its keys sit on top of the manager screen's (its Esc does not leave the screen).
 */
function Confirm({ pending, onConfirm, onCancel }: { pending: Pending; onConfirm: () => void; onCancel: () => void }) {
  useKeys({ [pending.approve ? "a" : "r"]: onConfirm });
  const what = { sku: pending.row.item.sku, code: pending.row.location.code, counted: pending.row.countedQty, expected: pending.row.expected };
  return (
    <div class="confirm" role="alertdialog" data-testid="confirm">
      <p>{pending.approve ? t("variances.confirmApprove", what) : t("variances.confirmReject", what)}</p>
      <Actions>
        <Action keyName="Enter" label={pending.approve ? t("variances.approve") : t("variances.reject")} tone={pending.approve ? "primary" : "danger"} onRun={onConfirm} />
        <Action keyName="Escape" label={t("action.cancel")} onRun={onCancel} />
      </Actions>
    </div>
  );
}
