// Pick: choose a pick list (or take the next one), then walk its lines in walk order. For
// each line: scan the location, scan the item, enter the quantity. A wrong scan is refused
// with the error sound and the screen says what it expected; picking fewer than asked for
// takes a reason (a short pick). A lot-tracked item on a line that names no lot gets its lot
// from the scan or from the lot step (the lots the location holds, by number key).

import { useEffect, useState } from "preact/hooks";

import { toCommandError } from "../backend";
import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { Location, LotStockView, PickListSummary, PickListView } from "../contract";
import { SHORT_PICK_REASONS, type ShortPickReason } from "../contract-extra";
import { useEnv, useScan } from "../env";
import { t } from "../i18n";
import { afterPick, checkItemScan, checkLocationScan, nextLine, remaining, sortByWalkOrder } from "../logic/pick";
import { parseQuantity } from "../logic/quantity";
import { Facts, Prompt, resolveOrReport, Scroll, useRereadOnPull } from "./common";
import { loadStock, lotFromScan, LotStep } from "./LotStep";

type Step = "location" | "item" | "lot" | "qty" | "reason";

/** "3 x BOLT to A-01, 1 x NUT to B-02": what to put back, for the interrupt. */
function putBackText(view: PickListView): string {
  return view.putBacks.map((due) => `${due.due} x ${due.item.sku} → ${due.location.code}`).join(", ");
}

export function Pick({ onBack }: { onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [lists, setLists] = useState<PickListSummary[] | null>(null);
  const [view, setView] = useState<PickListView | null>(null);
  const [step, setStep] = useState<Step>("location");
  const [scanText, setScanText] = useState("");
  const [qty, setQty] = useState("");
  const [lot, setLot] = useState<string | undefined>(undefined);
  /** Units scanned on this line's item so far: a repeat scan counts one more. */
  const [unitsScanned, setUnitsScanned] = useState(0);
  /** What the line's location holds of its item per lot, for the lot step. */
  const [stock, setStock] = useState<LotStockView[] | null>(null);
  const [lotAsked, setLotAsked] = useState(false);
  /** Where a cancelled list's goods go back, when a manager scanned another location. */
  const [target, setTarget] = useState<Location | null>(null);

  async function loadLists(): Promise<void> {
    try {
      setLists(await backend.pickLists());
    } catch (error) {
      feedback.fail(error);
    }
  }
  useEffect(() => void loadLists(), []);
  // A claim made on another PC, or a list the ERP added, shows while the picker chooses.
  // Quietly: a failed background read must not replace what the picker is being told.
  useRereadOnPull(() => void backend.pickLists().then(setLists, () => {}));
  // The ERP cancelled the list being picked: stop the picker at once and show the put-back.
  useRereadOnPull(() => {
    if (view === null || view.cancelled) return;
    void backend.pickLists().then((current) => {
      if (current.some((each) => each.id === view.id && each.cancelled)) void interrupt(view.id);
    }, () => {});
  });

  /** Shows `pickList`, which the ERP cancelled, with what to put back. */
  async function interrupt(pickList: string): Promise<void> {
    try {
      const opened = await backend.openPickList(pickList);
      setView(opened);
      setStep("location");
      feedback.refuse(t("error.pick_list_cancelled"), putBackText(opened));
    } catch (error) {
      feedback.fail(error);
    }
  }

  async function putBack(index: number): Promise<void> {
    if (view === null) return;
    const due = view.putBacks[index];
    if (due === undefined) return;
    try {
      const to = target ?? due.location;
      await backend.putBack({ pickList: view.id, line: due.line, location: to.id, lot: due.lot, qty: due.due });
      setView(await backend.openPickList(view.id));
      feedback.success(t("pick.putBackDone", { qty: due.due, sku: due.item.sku, code: to.code }));
    } catch (error) {
      feedback.fail(error);
    }
  }

  async function open(pickList?: string): Promise<void> {
    try {
      const opened = await backend.openPickList(pickList);
      setView({ ...opened, lines: sortByWalkOrder(opened.lines) });
      setStep("location");
      if (opened.notices.length > 0) feedback.refuse(t("pick.claimedElsewhere", { reference: opened.reference }), opened.notices.join(" "));
      else feedback.info(t("pick.opened", { reference: opened.reference }));
    } catch (error) {
      feedback.fail(error);
    }
  }

  const line = view === null ? undefined : nextLine(view.lines);

  function refuse(reason: string, expected: string): void {
    feedback.refuse(t(`pick.${reason}` as "pick.wrong_location"), t("pick.expected", { expected }));
  }

  function askLot(): void {
    if (line === undefined) return;
    setStock(null);
    setLotAsked(true);
    setStep("lot");
    void loadStock(backend, line.location, line.item).then(setStock);
  }

  function takeLot(chosen: string): void {
    setLot(chosen);
    feedback.success(t("lot.set", { lot: chosen }));
    setStep("qty");
  }

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    if (view !== null && view.cancelled) {
      // A manager may send the goods to another location: scan it, then choose the line.
      const resolved = await resolveOrReport(backend, feedback, raw);
      if (resolved === null) return;
      if (resolved.kind === "location") {
        setTarget(resolved.location);
        feedback.info(t("pick.putBackTo", { code: resolved.location.code }));
      } else feedback.refuse(t("scan.notNow"));
      return;
    }
    if (line === undefined || step === "reason") {
      feedback.refuse(t("scan.notNow"));
      return;
    }
    if (step === "lot") {
      const chosen = await lotFromScan(backend, feedback, raw, line.item, stock);
      if (chosen !== null) takeLot(chosen);
      return;
    }
    const resolved = await resolveOrReport(backend, feedback, raw);
    if (resolved === null) return;
    if (step === "qty") {
      // The same item again: the picker is counting by scanning, one scan a unit.
      if (resolved.kind === "item" && resolved.item.id === line.item.id) {
        const units = unitsScanned + (resolved.quantity ?? resolved.packSize);
        setUnitsScanned(units);
        setQty(String(units));
        feedback.success(t("scan.oneMore", { qty: units }));
      } else feedback.refuse(t("scan.notNow"));
      return;
    }
    const check = step === "location" ? checkLocationScan(line, resolved) : checkItemScan(line, resolved);
    if (!check.ok) {
      refuse(check.reason, check.expected);
      return;
    }
    if (step === "location") {
      feedback.success(t("scan.locationSet", { code: line.location.code }));
      setStep("item");
    } else if (resolved.kind === "item") {
      const scannedLot = resolved.lot ?? line.lot;
      setLot(scannedLot);
      setUnitsScanned(resolved.quantity ?? resolved.packSize);
      setQty(String(resolved.quantity ?? remaining(line)));
      feedback.success(t("pick.itemOk"));
      if (line.item.lotTracked && (scannedLot ?? "") === "") askLot();
      else {
        setLotAsked(false);
        setStep("qty");
      }
    }
  }
  useScan((raw) => void onScan(raw));

  async function record(pickedQty: number, reason?: ShortPickReason): Promise<void> {
    if (view === null || line === undefined) return;
    const notices: string[] = [];
    try {
      if (pickedQty > 0) {
        const recorded = await backend.pickLine({
          pickList: view.id,
          line: line.id,
          location: line.location.id,
          item: line.item.id,
          lot,
          qty: pickedQty,
        });
        notices.push(...recorded.notices);
      }
      if (reason !== undefined) {
        const recorded = await backend.shortPick({
          pickList: view.id,
          line: line.id,
          qtyShort: remaining(line) - pickedQty,
          reason,
          // The line's own lot decides; a lot is sent only for a line that names none.
          lot: line.lot === undefined ? lot : undefined,
        });
        notices.push(...recorded.notices);
      }
    } catch (error) {
      const commandError = toCommandError(error);
      if (commandError.is("pick_list_cancelled")) {
        void interrupt(view.id);
        return;
      }
      if (commandError.is("wrong_location")) refuse("wrong_location", line.location.code);
      else if (commandError.is("wrong_item")) refuse("wrong_item", `${line.item.sku} ${line.item.name}`);
      else {
        feedback.fail(error);
        // The backend wants the lot this screen did not know to ask: ask it, then Enter again.
        if (commandError.is("lot_required")) askLot();
      }
      return;
    }
    setView({ ...view, lines: afterPick(view.lines, line.id, pickedQty, reason !== undefined) });
    setQty("");
    setLot(undefined);
    setLotAsked(false);
    setStep("location");
    feedback.success(reason === undefined ? t("pick.lineDone") : t("pick.shortDone"), notices);
  }

  function submitQty(text: string): void {
    if (line === undefined) return;
    const quantity = parseQuantity(text, true);
    if (quantity === null || quantity > remaining(line)) {
      feedback.refuse(t("pick.qtyRange", { max: remaining(line) }));
      return;
    }
    setQty(String(quantity));
    if (quantity === remaining(line)) void record(quantity);
    else {
      feedback.info(t("pick.shortAsk", { qty: quantity, needed: remaining(line) }));
      setStep("reason");
    }
  }

  function back(): void {
    feedback.clear();
    if (view === null) onBack();
    else if (step === "reason") setStep("qty");
    else if (step === "qty") setStep(lotAsked ? "lot" : "item");
    else if (step === "lot") setStep("item");
    else if (step === "item") setStep("location");
    else {
      setView(null);
      setTarget(null);
      void loadLists();
    }
  }

  if (view === null) {
    return (
      <section class="screen">
        <Prompt>{t("pick.choose")}</Prompt>
        <FeedbackBox message={feedback.message} />
        <Scroll>
        <ol class="choices">
          {(lists ?? []).slice(0, 9).map((list, index) => (
            <li key={list.id}>
              <Action
                keyName={String(index + 1)}
                label={
                  list.cancelled
                    ? t("pick.listLabelCancelled", { reference: list.reference, due: list.putBackDue })
                    : list.claimedBy === undefined || list.claimedBy === ""
                    ? t("pick.listLabelFree", { reference: list.reference, done: list.nDone, lines: list.nLines })
                    : list.claimedHere
                      ? t("pick.listLabelHere", { reference: list.reference, done: list.nDone, lines: list.nLines, claimedBy: list.claimedBy })
                      : list.claimedOn === undefined
                        ? t("pick.listLabel", { reference: list.reference, done: list.nDone, lines: list.nLines, claimedBy: list.claimedBy })
                        : t("pick.listLabelOn", { reference: list.reference, done: list.nDone, lines: list.nLines, claimedBy: list.claimedBy, pc: list.claimedOn })
                }
                onRun={() => void open(list.id)}
              />
            </li>
          ))}
        </ol>
        </Scroll>
        {lists !== null && lists.length === 0 && <p class="hint">{t("pick.noLists")}</p>}
        <Actions>
          <Action keyName="Enter" label={t("pick.next")} tone="primary" onRun={() => void open()} />
          <Action keyName="Escape" label={t("action.home")} onRun={back} />
        </Actions>
      </section>
    );
  }

  if (view.cancelled) {
    return (
      <section class="screen">
        <Prompt>
          {view.putBacks.length === 0
            ? t("pick.cancelledNothing", { reference: view.reference })
            : t("pick.cancelled", { reference: view.reference })}
        </Prompt>
        <FeedbackBox message={feedback.message} />
        <Scroll>
          <ol class="choices" data-testid="put-backs">
            {view.putBacks.slice(0, 9).map((due, index) => (
              <li key={`${due.line}/${due.lot ?? ""}`}>
                <Action
                  keyName={String(index + 1)}
                  label={t("pick.putBackLine", { qty: due.due, sku: due.item.sku, name: due.item.name, code: (target ?? due.location).code })}
                  onRun={() => void putBack(index)}
                />
              </li>
            ))}
          </ol>
        </Scroll>
        <Actions>
          <Action keyName="Escape" label={t("action.back")} onRun={back} />
        </Actions>
      </section>
    );
  }

  if (line === undefined) {
    const short = view.lines.filter((each) => each.picked < each.qty);
    return (
      <section class="screen">
        {short.length === 0 ? (
          <Prompt>{t("pick.complete", { reference: view.reference })}</Prompt>
        ) : (
          <>
            <Prompt>{t("pick.completeShort", { reference: view.reference, n: short.length })}</Prompt>
            <ul class="short-lines" data-testid="short-lines">
              {short.map((each) => (
                <li key={each.id}>
                  {t("pick.shortLine", { code: each.location.code, sku: each.item.sku, name: each.item.name, picked: each.picked, qty: each.qty })}
                </li>
              ))}
            </ul>
            <p class="hint">{t("pick.shortNext")}</p>
          </>
        )}
        <FeedbackBox message={feedback.message} />
        <Actions>
          <Action keyName="Enter" label={t("pick.next")} tone="primary" onRun={() => void open()} />
          <Action keyName="Escape" label={t("action.back")} onRun={back} />
        </Actions>
      </section>
    );
  }

  const lineNumber = view.lines.filter((each) => each.done).length + 1;
  return (
    <section class="screen">
      <Facts
        facts={[
          { label: t("pick.list"), value: t("pick.progress", { reference: view.reference, n: lineNumber, total: view.lines.length }) },
          { label: t("field.location"), value: line.location.code },
          { label: t("field.item"), value: `${line.item.sku} · ${line.item.name}` },
          { label: t("field.qty"), value: `${remaining(line)} ${line.item.baseUnit}` },
          ...(lot === undefined || lot === "" ? [] : [{ label: t("field.lot"), value: lot }]),
        ]}
      />
      {(step === "location" || step === "item") && (
        <>
          <Prompt>
            {step === "location" ? t("pick.scanLocation", { code: line.location.code }) : t("pick.scanItem", { sku: line.item.sku })}
          </Prompt>
          <Field id="pick-scan" label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
        </>
      )}
      {step === "lot" && <LotStep item={line.item} location={line.location} stock={stock} showQuantities onLot={takeLot} />}
      {step === "qty" && (
        <>
          <Prompt>{t("pick.enterQty", { needed: remaining(line) })}</Prompt>
          <Field id="pick-qty" label={t("field.qty")} value={qty} onValue={setQty} onEnter={submitQty} numeric focused selectProposed />
        </>
      )}
      {step === "reason" && <Prompt>{t("pick.reasonAsk")}</Prompt>}
      <FeedbackBox message={feedback.message} />
      <Actions>
        {step === "reason" &&
          SHORT_PICK_REASONS.map((reason, index) => (
            <Action
              key={reason}
              keyName={String(index + 1)}
              label={t(`shortReason.${reason}`)}
              onRun={() => void record(parseQuantity(qty, true) ?? 0, reason)}
            />
          ))}
        {step === "qty" && <Action keyName="F4" label={t("pick.shortNone")} onRun={() => { setQty("0"); submitQty("0"); }} />}
        <Action keyName="Escape" label={t("action.back")} onRun={back} />
      </Actions>
    </section>
  );
}
