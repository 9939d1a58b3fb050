// Receive: scan the location, then the item (GS1 lot, expiry and count fill themselves in),
// then the quantity, and confirm. The location stays for the next item.

import { useState } from "preact/hooks";

import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { Location, ResolvedItem } from "../contract";
import { useEnv, useScan } from "../env";
import { t } from "../i18n";
import { parseQuantity } from "../logic/quantity";
import { Facts, Prompt, resolveOrReport, type Fact } from "./common";

type Step = "location" | "item" | "qty" | "confirm";

export function Receive({ onBack }: { onBack: () => void }) {
  const { backend } = useEnv();
  const feedback = useFeedback();
  const [step, setStep] = useState<Step>("location");
  const [location, setLocation] = useState<Location | null>(null);
  const [item, setItem] = useState<ResolvedItem | null>(null);
  const [scanText, setScanText] = useState("");
  const [qty, setQty] = useState("");
  const [lot, setLot] = useState("");
  const [expiry, setExpiry] = useState("");
  /** Units scanned on this item so far: a repeat scan counts one more. */
  const [unitsScanned, setUnitsScanned] = useState(0);

  function takeItem(resolved: ResolvedItem): void {
    if (step === "qty" && item !== null && resolved.item.id === item.item.id && resolved.lot === item.lot) {
      const units = unitsScanned + (resolved.quantity ?? resolved.packSize);
      setUnitsScanned(units);
      setQty(String(units));
      feedback.success(t("scan.oneMore", { qty: units }));
      return;
    }
    setUnitsScanned(resolved.quantity ?? resolved.packSize);
    setItem(resolved);
    setLot(resolved.lot ?? "");
    setExpiry(resolved.expiry ?? "");
    setQty(resolved.quantity === undefined ? "" : String(resolved.quantity));
    setStep("qty");
    feedback.success(t("receive.itemScanned", { sku: resolved.item.sku, name: resolved.item.name }));
  }

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    const resolved = await resolveOrReport(backend, feedback, raw);
    if (resolved === null) return;
    if (resolved.kind === "location" && step !== "confirm") {
      setLocation(resolved.location);
      setItem(null);
      setStep("item");
      feedback.success(t("scan.locationSet", { code: resolved.location.code }));
    } else if (resolved.kind === "item" && (step === "item" || step === "qty")) {
      takeItem(resolved);
    } else {
      feedback.refuse(step === "location" ? t("scan.expectedLocation") : t("scan.expectedItem"));
    }
  }
  useScan((raw) => void onScan(raw));

  function toConfirm(text: string): void {
    if (parseQuantity(text) === null) {
      feedback.refuse(t("qty.invalid"));
      return;
    }
    feedback.clear();
    setStep("confirm");
  }

  async function confirm(): Promise<void> {
    const quantity = parseQuantity(qty);
    if (location === null || item === null || quantity === null) return;
    try {
      const recorded = await backend.receive({
        location: location.id,
        item: item.item.id,
        lot: lot.trim() === "" ? undefined : lot.trim(),
        expiry: expiry.trim() === "" ? undefined : expiry.trim(),
        qty: quantity,
      });
      feedback.success(
        t("receive.done", { qty: quantity, sku: item.item.sku, code: location.code, onHand: recorded.onHand }),
        recorded.notices,
      );
      setItem(null);
      setQty("");
      setStep("item");
    } catch (error) {
      feedback.fail(error);
    }
  }

  function back(): void {
    feedback.clear();
    if (step === "confirm") setStep("qty");
    else if (step === "qty") setStep("item");
    else if (step === "item") setStep("location");
    else onBack();
  }

  const facts: Fact[] = [];
  if (location !== null) facts.push({ label: t("field.location"), value: location.code });
  if (item !== null) facts.push({ label: t("field.item"), value: `${item.item.sku} · ${item.item.name}` });
  if (step === "confirm") {
    facts.push({ label: t("field.qty"), value: `${qty} ${item?.item.baseUnit ?? ""}` });
    if (lot !== "") facts.push({ label: t("field.lot"), value: lot });
    if (expiry !== "") facts.push({ label: t("field.expiry"), value: expiry });
  }

  return (
    <section class="screen">
      <Facts facts={facts} />
      {(step === "location" || step === "item") && (
        <>
          <Prompt>{step === "location" ? t("receive.scanLocation") : t("receive.scanItem")}</Prompt>
          <Field id="receive-scan" label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
        </>
      )}
      {step === "qty" && (
        <>
          <Prompt>{t("receive.enterQty")}</Prompt>
          <div class="field-row">
            <Field id="receive-qty" label={t("field.qty")} value={qty} onValue={setQty} onEnter={toConfirm} numeric focused selectProposed />
            <Field id="receive-lot" label={t("field.lot")} value={lot} onValue={setLot} onEnter={() => toConfirm(qty)} />
            <Field id="receive-expiry" label={t("field.expiry")} value={expiry} onValue={setExpiry} onEnter={() => toConfirm(qty)} placeholder={t("field.datePlaceholder")} />
          </div>
        </>
      )}
      {step === "confirm" && <Prompt>{t("receive.confirm")}</Prompt>}
      <FeedbackBox message={feedback.message} />
      <Actions>
        {step === "confirm" && <Action keyName="Enter" label={t("action.confirm")} tone="primary" onRun={() => void confirm()} />}
        <Action keyName="Escape" label={step === "location" ? t("action.home") : t("action.back")} onRun={back} />
      </Actions>
    </section>
  );
}
