// Move and put away: scan where from, the item (and its lot, if it is lot-tracked), enter the
// quantity, scan where to, confirm. Once the source and the item are known the screen shows
// what the source holds of it per lot; moving more than that asks first ("DOCK-1 holds 12.
// Move 20 anyway?") and then sends `confirmOverSource`.

import { useState } from "preact/hooks";

import { toCommandError } from "../backend";
import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { Location, LotStockView } from "../contract";
import type { ResolvedItem } from "../contract-extra";
import { useEnv, useKeys, useScan } from "../env";
import { t } from "../i18n";
import { heldOf } from "../logic/lots";
import { parseQuantity } from "../logic/quantity";
import { Facts, Prompt, resolveOrReport, type Fact } from "./common";
import { loadStock, lotFromScan, LotStep } from "./LotStep";

type Step = "from" | "item" | "lot" | "qty" | "over" | "to" | "confirm";

/** The question asked before a move takes more than the source holds. */
interface OverSource {
  message: string;
  /** Asked by the backend at the last step: a yes sends the move at once. */
  send: boolean;
}

/** What the source holds, per lot, in a line: "L1: 12 · L2: 3", or "12" without lots. */
export function holdsText(rows: readonly LotStockView[]): string {
  if (rows.length === 0) return t("move.holdsNone");
  return rows
    .map((row) => (row.lot === undefined || row.lot === null || row.lot === "" ? String(row.onHand) : t("move.holdsLot", { lot: row.lot, onHand: row.onHand })))
    .join(" · ");
}

export function Move({ onBack }: { onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [step, setStep] = useState<Step>("from");
  const [from, setFrom] = useState<Location | null>(null);
  const [to, setTo] = useState<Location | null>(null);
  const [item, setItem] = useState<ResolvedItem | null>(null);
  const [lot, setLot] = useState<string | undefined>(undefined);
  const [lotAsked, setLotAsked] = useState(false);
  /** What the source holds of the item per lot; null until known. */
  const [stock, setStock] = useState<LotStockView[] | null>(null);
  const [over, setOver] = useState<OverSource | null>(null);
  /** The person said yes to moving more than the source holds. */
  const [overConfirmed, setOverConfirmed] = useState(false);
  const [scanText, setScanText] = useState("");
  const [qty, setQty] = useState("");
  /** Units scanned on this item so far: a repeat scan counts one more. */
  const [unitsScanned, setUnitsScanned] = useState(0);

  function reloadStock(at: Location, resolved: ResolvedItem): void {
    setStock(null);
    void loadStock(backend, at, resolved.item).then(setStock);
  }

  function takeItem(at: Location, resolved: ResolvedItem): void {
    setUnitsScanned(resolved.quantity ?? resolved.packSize);
    setItem(resolved);
    setLot(resolved.lot);
    setOverConfirmed(false);
    setQty(resolved.quantity === undefined ? "" : String(resolved.quantity));
    reloadStock(at, resolved);
    const needsLot = resolved.item.lotTracked && (resolved.lot ?? "") === "";
    setLotAsked(needsLot);
    setStep(needsLot ? "lot" : "qty");
    feedback.success(t("receive.itemScanned", { sku: resolved.item.sku, name: resolved.item.name }));
  }

  function takeLot(chosen: string): void {
    setLot(chosen);
    setOverConfirmed(false);
    feedback.success(t("lot.set", { lot: chosen }));
    setStep("qty");
  }

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    if (step === "lot" && item !== null) {
      const chosen = await lotFromScan(backend, feedback, raw, item.item, stock);
      if (chosen !== null) takeLot(chosen);
      return;
    }
    const resolved = await resolveOrReport(backend, feedback, raw);
    if (resolved === null) return;
    if (step === "from" && resolved.kind === "location") {
      setFrom(resolved.location);
      setStep("item");
      feedback.success(t("scan.locationSet", { code: resolved.location.code }));
    } else if (step === "qty" && resolved.kind === "item" && item !== null && resolved.item.id === item.item.id && (resolved.lot === undefined || resolved.lot === lot)) {
      const units = unitsScanned + (resolved.quantity ?? resolved.packSize);
      setUnitsScanned(units);
      setQty(String(units));
      feedback.success(t("scan.oneMore", { qty: units }));
    } else if ((step === "item" || step === "qty") && resolved.kind === "item" && from !== null) {
      takeItem(from, resolved);
    } else if (step === "to" && resolved.kind === "location") {
      if (resolved.location.id === from?.id) {
        feedback.refuse(t("error.same_location"));
        return;
      }
      setTo(resolved.location);
      setStep("confirm");
      feedback.success(t("scan.locationSet", { code: resolved.location.code }));
    } else {
      feedback.refuse(step === "item" ? t("scan.expectedItem") : step === "qty" || step === "confirm" || step === "over" ? t("scan.notNow") : t("scan.expectedLocation"));
    }
  }
  useScan((raw) => void onScan(raw));

  function submitQty(text: string): void {
    const quantity = parseQuantity(text);
    if (quantity === null || from === null) {
      feedback.refuse(t("qty.invalid"));
      return;
    }
    feedback.clear();
    const holds = stock === null ? null : heldOf(stock, lot);
    if (holds !== null && quantity > holds) {
      setOver({ message: t("move.overSource", { code: from.code, holds, qty: quantity }), send: false });
      setStep("over");
      return;
    }
    setOverConfirmed(false);
    setStep("to");
  }

  function confirmOver(): void {
    if (over === null) return;
    setOverConfirmed(true);
    setOver(null);
    if (over.send) void send(true);
    else setStep(to === null ? "to" : "confirm");
  }

  async function send(confirmOverSource: boolean): Promise<void> {
    const quantity = parseQuantity(qty);
    if (from === null || to === null || item === null || quantity === null) return;
    try {
      const recorded = await backend.moveStock({
        from: from.id,
        to: to.id,
        item: item.item.id,
        lot,
        qty: quantity,
        confirmOverSource: confirmOverSource ? true : undefined,
      });
      feedback.success(t("move.done", { qty: quantity, sku: item.item.sku, from: from.code, to: to.code }), recorded.notices);
      setItem(null);
      setLot(undefined);
      setStock(null);
      setTo(null);
      setQty("");
      setOverConfirmed(false);
      setStep("item");
    } catch (error) {
      const code = toCommandError(error);
      if (code.is("move_exceeds_source")) {
        // The source changed since the screen looked (or the screen could not look): ask.
        feedback.clear();
        setOver({ message: code.message, send: true });
        setStep("over");
        reloadStock(from, item);
        return;
      }
      feedback.fail(error);
      if (code.is("same_location")) {
        setTo(null);
        setStep("to");
      } else if (code.is("lot_required")) {
        setLotAsked(true);
        reloadStock(from, item);
        setStep("lot");
      }
    }
  }

  function back(): void {
    feedback.clear();
    if (step === "over") {
      setOver(null);
      setStep("qty");
    } else if (step === "confirm") setStep("to");
    else if (step === "to") setStep("qty");
    else if (step === "qty") setStep(lotAsked ? "lot" : "item");
    else if (step === "lot") setStep("item");
    else if (step === "item") setStep("from");
    else onBack();
  }

  useKeys(step === "over" ? { F2: confirmOver } : {});

  const facts: Fact[] = [];
  if (from !== null) facts.push({ label: t("field.from"), value: from.code });
  if (item !== null) facts.push({ label: t("field.item"), value: `${item.item.sku} · ${item.item.name}` });
  if (lot !== undefined) facts.push({ label: t("field.lot"), value: lot });
  if (from !== null && item !== null && stock !== null) facts.push({ label: t("move.holds", { code: from.code }), value: holdsText(stock) });
  if (step === "to" || step === "confirm" || step === "over") facts.push({ label: t("field.qty"), value: qty });
  if (to !== null && step === "confirm") facts.push({ label: t("field.to"), value: to.code });

  const scanPrompt = { from: t("move.scanFrom"), item: t("move.scanItem"), to: t("move.scanTo") };
  return (
    <section class="screen">
      <Facts facts={facts} />
      {(step === "from" || step === "item" || step === "to") && (
        <>
          <Prompt>{scanPrompt[step]}</Prompt>
          <Field id={`move-${step}`} label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
        </>
      )}
      {step === "lot" && item !== null && from !== null && (
        <LotStep item={item.item} location={from} stock={stock} showQuantities onLot={takeLot} />
      )}
      {step === "qty" && (
        <>
          <Prompt>{t("move.enterQty")}</Prompt>
          <Field id="move-qty" label={t("field.qty")} value={qty} onValue={setQty} onEnter={submitQty} numeric focused selectProposed />
        </>
      )}
      {step === "over" && over !== null && (
        <div class="confirm" role="alertdialog" data-testid="confirm">
          <p class="prompt">{over.message}</p>
        </div>
      )}
      {step === "confirm" && <Prompt>{t("move.confirm")}</Prompt>}
      <FeedbackBox message={feedback.message} />
      <Actions>
        {step === "confirm" && <Action keyName="Enter" label={t("action.confirm")} tone="primary" onRun={() => void send(overConfirmed)} />}
        {step === "over" && <Action keyName="Enter" label={t("move.overConfirm")} tone="danger" onRun={confirmOver} />}
        <Action keyName="Escape" label={step === "from" ? t("action.home") : t("action.back")} onRun={back} />
      </Actions>
    </section>
  );
}
