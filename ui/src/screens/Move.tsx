// Move and put away: scan where from, the item, enter the quantity, scan where to, confirm.

import { useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { Location, ResolvedItem } from "../contract";
import { useEnv, useScan } from "../env";
import { t } from "../i18n";
import { parseQuantity } from "../logic/quantity";
import { Facts, Prompt, resolveOrReport, type Fact } from "./common";

type Step = "from" | "item" | "qty" | "to" | "confirm";

const PREVIOUS: Record<Step, Step | null> = { from: null, item: "from", qty: "item", to: "qty", confirm: "to" };

export function Move({ onBack }: { onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [step, setStep] = useState<Step>("from");
  const [from, setFrom] = useState<Location | null>(null);
  const [to, setTo] = useState<Location | null>(null);
  const [item, setItem] = useState<ResolvedItem | null>(null);
  const [scanText, setScanText] = useState("");
  const [qty, setQty] = useState("");
  /** Units scanned on this item so far: a repeat scan counts one more. */
  const [unitsScanned, setUnitsScanned] = useState(0);

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    const resolved = await resolveOrReport(backend, feedback, raw);
    if (resolved === null) return;
    if (step === "from" && resolved.kind === "location") {
      setFrom(resolved.location);
      setStep("item");
      feedback.success(t("scan.locationSet", { code: resolved.location.code }));
    } else if (step === "qty" && resolved.kind === "item" && item !== null && resolved.item.id === item.item.id && resolved.lot === item.lot) {
      const units = unitsScanned + (resolved.quantity ?? resolved.packSize);
      setUnitsScanned(units);
      setQty(String(units));
      feedback.success(t("scan.oneMore", { qty: units }));
    } else if ((step === "item" || step === "qty") && resolved.kind === "item") {
      setUnitsScanned(resolved.quantity ?? resolved.packSize);
      setItem(resolved);
      setQty(resolved.quantity === undefined ? "" : String(resolved.quantity));
      setStep("qty");
      feedback.success(t("receive.itemScanned", { sku: resolved.item.sku, name: resolved.item.name }));
    } else if (step === "to" && resolved.kind === "location") {
      if (resolved.location.id === from?.id) {
        feedback.refuse(t("move.sameLocation"));
        return;
      }
      setTo(resolved.location);
      setStep("confirm");
      feedback.success(t("scan.locationSet", { code: resolved.location.code }));
    } else {
      feedback.refuse(step === "item" ? t("scan.expectedItem") : step === "qty" || step === "confirm" ? t("scan.notNow") : t("scan.expectedLocation"));
    }
  }
  useScan((raw) => void onScan(raw));

  function submitQty(text: string): void {
    if (parseQuantity(text) === null) {
      feedback.refuse(t("qty.invalid"));
      return;
    }
    feedback.clear();
    setStep("to");
  }

  async function confirm(): Promise<void> {
    const quantity = parseQuantity(qty);
    if (from === null || to === null || item === null || quantity === null) return;
    try {
      const recorded = await backend.moveStock({ from: from.id, to: to.id, item: item.item.id, lot: item.lot, qty: quantity });
      feedback.success(t("move.done", { qty: quantity, sku: item.item.sku, from: from.code, to: to.code }), recorded.notices);
      setItem(null);
      setTo(null);
      setQty("");
      setStep("item");
    } catch (error) {
      feedback.fail(error);
    }
  }

  function back(): void {
    feedback.clear();
    const previous = PREVIOUS[step];
    if (previous === null) onBack();
    else setStep(previous);
  }

  const facts: Fact[] = [];
  if (from !== null) facts.push({ label: t("field.from"), value: from.code });
  if (item !== null) facts.push({ label: t("field.item"), value: `${item.item.sku} · ${item.item.name}${item.lot === undefined ? "" : ` · ${item.lot}`}` });
  if (step === "to" || step === "confirm") facts.push({ label: t("field.qty"), value: qty });
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
      {step === "qty" && (
        <>
          <Prompt>{t("move.enterQty")}</Prompt>
          <Field id="move-qty" label={t("field.qty")} value={qty} onValue={setQty} onEnter={submitQty} numeric focused selectProposed />
        </>
      )}
      {step === "confirm" && <Prompt>{t("move.confirm")}</Prompt>}
      <FeedbackBox message={feedback.message} />
      <Actions>
        {step === "confirm" && <Action keyName="Enter" label={t("action.confirm")} tone="primary" onRun={() => void confirm()} />}
        <Action keyName="Escape" label={step === "from" ? t("action.home") : t("action.back")} onRun={back} />
      </Actions>
    </section>
  );
}
