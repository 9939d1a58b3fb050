// Receive: scan the location, then the item (GS1 lot, expiry and count fill themselves in),
// then the quantity, and confirm. A lot-tracked item always carries its lot: when the scan
// gave none, the lot step asks for it, then its expiry (Enter skips). The location stays for
// the next item.

import { useState } from "preact/hooks";

import { toCommandError } from "../backend";
import { Action, Actions } from "../components/Action";
import { FeedbackBox, useFeedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { ExpectedLineView, ExpectedReceiptView, Location, LotStockView } from "../contract";
import type { ResolvedItem } from "../contract-extra";
import { useEnv, useScan } from "../env";
import { t } from "../i18n";
import { isDate } from "../logic/lots";
import { parseQuantity } from "../logic/quantity";
import { Facts, Prompt, resolveOrReport, type Fact } from "./common";
import { loadStock, lotFromScan, LotStep } from "./LotStep";

type Step = "delivery" | "location" | "item" | "lot" | "expiry" | "qty" | "confirm";

/** How a line stands: more than expected, less, or just that. */
function lineClass(line: ExpectedLineView): string {
  if (line.difference > 0) return "over";
  return line.difference < 0 ? "under" : "met";
}

/** "6 of 10 · 4 to come", "5 of 4 · 1 over": one expected line against what came. */
function lineText(line: ExpectedLineView): string {
  const base = t("receive.deliveryLine", { sku: line.item.sku, name: line.item.name, received: line.received, expected: line.expected });
  if (line.difference > 0) return `${base} · ${t("receive.over", { n: line.difference })}`;
  if (line.difference < 0) return `${base} · ${t("receive.short", { n: -line.difference })}`;
  return `${base} ✓`;
}

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
  /** What the location holds of the item per lot, for the lot step. */
  const [stock, setStock] = useState<LotStockView[] | null>(null);
  /** The steps this item took that its scan did not answer, for Esc to go back through. */
  const [asked, setAsked] = useState({ lot: false, expiry: false });
  /** Where the lot step goes on: on to the expiry, or back to the confirmation it came from. */
  const [afterLot, setAfterLot] = useState<"expiry" | "confirm">("expiry");

  /** The expected delivery (the ERP's ASN) being received, if the receiver chose one. */
  const [receipt, setReceipt] = useState<ExpectedReceiptView | null>(null);
  const [receipts, setReceipts] = useState<ExpectedReceiptView[] | null>(null);

  const lotTracked = item?.item.lotTracked === true;

  async function chooseDelivery(): Promise<void> {
    if (receipt !== null) {
      setReceipt(null);
      feedback.info(t("receive.noDelivery"));
      return;
    }
    setStep("delivery");
    try {
      setReceipts(await backend.expectedReceipts());
    } catch (error) {
      feedback.fail(error);
    }
  }

  function takeDelivery(chosen: ExpectedReceiptView): void {
    setReceipt(chosen);
    setStep(location === null ? "location" : "item");
    feedback.success(t("receive.deliverySet", { reference: chosen.reference }));
  }

  function askLot(at: Location, resolved: ResolvedItem, then: "expiry" | "confirm"): void {
    setStock(null);
    setAfterLot(then);
    setStep("lot");
    void loadStock(backend, at, resolved.item).then(setStock);
  }

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
    const needsLot = resolved.item.lotTracked && (resolved.lot ?? "") === "";
    const needsExpiry = resolved.item.lotTracked && (resolved.expiry ?? "") === "";
    setAsked({ lot: needsLot, expiry: needsExpiry });
    feedback.success(t("receive.itemScanned", { sku: resolved.item.sku, name: resolved.item.name }));
    if (needsLot && location !== null) askLot(location, resolved, "expiry");
    else setStep(needsExpiry ? "expiry" : "qty");
  }

  function takeLot(chosen: string): void {
    setLot(chosen);
    feedback.success(t("lot.set", { lot: chosen }));
    if (afterLot === "confirm") setStep("confirm");
    else setStep(asked.expiry && expiry === "" ? "expiry" : "qty");
  }

  async function onScan(raw: string): Promise<void> {
    setScanText("");
    if (step === "delivery") {
      // The delivery note's reference: found among the expected deliveries, or refused.
      try {
        takeDelivery(await backend.expectedReceipt(raw.trim()));
      } catch (error) {
        feedback.fail(error);
      }
      return;
    }
    if (step === "lot" && item !== null) {
      const chosen = await lotFromScan(backend, feedback, raw, item.item, stock);
      if (chosen !== null) takeLot(chosen);
      return;
    }
    if (step === "expiry") {
      feedback.refuse(t("scan.notNow"));
      return;
    }
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

  function takeExpiry(text: string): void {
    const trimmed = text.trim();
    if (trimmed !== "" && !isDate(trimmed)) {
      feedback.refuse(t("receive.badExpiry"));
      return;
    }
    setExpiry(trimmed);
    feedback.clear();
    setStep("qty");
  }

  function toConfirm(text: string): void {
    if (parseQuantity(text) === null) {
      feedback.refuse(t("qty.invalid"));
      return;
    }
    if (expiry.trim() !== "" && !isDate(expiry.trim())) {
      feedback.refuse(t("receive.badExpiry"));
      return;
    }
    if (lotTracked && lot.trim() === "" && location !== null && item !== null) {
      // The lot was cleared by hand: a lot-tracked item is never received without one.
      setAsked({ ...asked, lot: true });
      askLot(location, item, "confirm");
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
        receipt: receipt?.reference,
      });
      // What the delivery still lacks, with this receipt counted.
      if (receipt !== null) void backend.expectedReceipt(receipt.reference).then(setReceipt, () => {});
      feedback.success(
        t("receive.done", { qty: quantity, sku: item.item.sku, code: location.code, onHand: recorded.onHand }),
        recorded.notices,
      );
      setItem(null);
      setQty("");
      setStep("item");
    } catch (error) {
      feedback.fail(error);
      // The backend knows the item is lot-tracked even where this screen did not: ask the lot.
      if (toCommandError(error).is("lot_required")) askLot(location, item, "confirm");
    }
  }

  function back(): void {
    feedback.clear();
    if (step === "confirm") setStep("qty");
    else if (step === "qty") setStep(asked.expiry ? "expiry" : asked.lot ? "lot" : "item");
    else if (step === "expiry") setStep(asked.lot ? "lot" : "item");
    else if (step === "lot") setStep("item");
    else if (step === "item") setStep("location");
    else if (step === "delivery") setStep("location");
    else onBack();
  }

  const facts: Fact[] = [];
  if (receipt !== null) facts.push({ label: t("receive.delivery"), value: `${receipt.reference} · ${receipt.supplier}` });
  if (location !== null) facts.push({ label: t("field.location"), value: location.code });
  if (item !== null) facts.push({ label: t("field.item"), value: `${item.item.sku} · ${item.item.name}` });
  if (step === "expiry" || step === "confirm") {
    if (lot !== "") facts.push({ label: t("field.lot"), value: lot });
  }
  if (step === "confirm") {
    facts.push({ label: t("field.qty"), value: `${qty} ${item?.item.baseUnit ?? ""}` });
    if (expiry !== "") facts.push({ label: t("field.expiry"), value: expiry });
  }
  // Lot and expiry are asked of a lot-tracked item; another item shows them only when its
  // barcode carried them.
  const showsLot = lotTracked || lot !== "" || expiry !== "";

  return (
    <section class="screen">
      <Facts facts={facts} />
      {step === "delivery" && (
        <>
          <Prompt>{t("receive.chooseDelivery")}</Prompt>
          <ol class="choices">
            {(receipts ?? []).slice(0, 9).map((each, index) => (
              <li key={each.reference}>
                <Action
                  keyName={String(index + 1)}
                  label={t("receive.deliveryLabel", { reference: each.reference, supplier: each.supplier, lines: each.lines.length })}
                  onRun={() => takeDelivery(each)}
                />
              </li>
            ))}
          </ol>
          {receipts !== null && receipts.length === 0 && <p class="hint">{t("receive.noDeliveries")}</p>}
        </>
      )}
      {receipt !== null && step !== "delivery" && (
        <ul class="short-lines" data-testid="delivery-lines">
          {receipt.lines.map((line) => (
            <li key={line.line} class={lineClass(line)}>
              {lineText(line)}
            </li>
          ))}
          {receipt.unexpected.map((extra) => (
            <li key={`x-${extra.item.id}-${extra.lot ?? ""}`} class="over">
              {t("receive.unexpected", { sku: extra.item.sku, name: extra.item.name, received: extra.received })}
            </li>
          ))}
        </ul>
      )}
      {(step === "location" || step === "item") && (
        <>
          <Prompt>{step === "location" ? t("receive.scanLocation") : t("receive.scanItem")}</Prompt>
          <Field id="receive-scan" label={t("field.scan")} value={scanText} onValue={setScanText} onEnter={(value) => void onScan(value)} focused />
        </>
      )}
      {step === "lot" && item !== null && location !== null && (
        <LotStep item={item.item} location={location} stock={stock} showQuantities onLot={takeLot} />
      )}
      {step === "expiry" && (
        <>
          <Prompt>{t("receive.askExpiry", { lot })}</Prompt>
          <Field
            id="receive-expiry-ask"
            label={t("field.expiry")}
            value={expiry}
            onValue={setExpiry}
            onEnter={takeExpiry}
            placeholder={t("field.datePlaceholder")}
            focused
          />
        </>
      )}
      {step === "qty" && (
        <>
          <Prompt>{lotTracked ? t("receive.enterQty") : t("receive.enterQtyOnly")}</Prompt>
          <div class="field-row">
            <Field id="receive-qty" label={t("field.qty")} value={qty} onValue={setQty} onEnter={toConfirm} numeric focused selectProposed />
            {showsLot && (
              <>
                <Field id="receive-lot" label={t("field.lot")} value={lot} onValue={setLot} onEnter={() => toConfirm(qty)} />
                <Field id="receive-expiry" label={t("field.expiry")} value={expiry} onValue={setExpiry} onEnter={() => toConfirm(qty)} placeholder={t("field.datePlaceholder")} />
              </>
            )}
          </div>
        </>
      )}
      {step === "confirm" && <Prompt>{t("receive.confirm")}</Prompt>}
      <FeedbackBox message={feedback.message} />
      <Actions>
        {step === "confirm" && <Action keyName="Enter" label={t("action.confirm")} tone="primary" onRun={() => void confirm()} />}
        {(step === "location" || step === "item") && (
          <Action keyName="F2" label={receipt === null ? t("receive.delivery") : t("receive.noDelivery")} onRun={() => void chooseDelivery()} />
        )}
        <Action keyName="Escape" label={step === "location" ? t("action.home") : t("action.back")} onRun={back} />
      </Actions>
    </section>
  );
}
