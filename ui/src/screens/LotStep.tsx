// The lot step of every floor screen: a lot-tracked item whose scan named no lot (or that the
// backend answered `lot_required` for) gets its lot here. The lots the location holds are
// offered by number key; a scan of the item's GS1 barcode, or of a lot label, or the lot
// typed into the field gives any other.

import { useState } from "preact/hooks";

import { toCommandError, type Backend } from "../backend";
import { Action } from "../components/Action";
import type { Feedback } from "../components/Feedback";
import { Field } from "../components/Field";
import type { Item, Location, LotStockView } from "../contract";
import { t } from "../i18n";
import { heldLots, typedLot } from "../logic/lots";
import { Prompt, Scroll } from "./common";

/**
 * What `location` holds of `item` per lot; null when the backend cannot say. Work goes on
 * without it: the lot is scanned or typed, and the backend still checks a move's source.
 */
export async function loadStock(backend: Backend, location: Location, item: Item): Promise<LotStockView[] | null> {
  try {
    return await backend.stockAt(location.id, item.id);
  } catch {
    return null;
  }
}

/**
 * The lot a scan names in the lot step: a lot offered, by its text; the lot of the item's
 * own GS1 barcode; or the text of a label that is no known barcode (a lot label). Anything
 * else is refused on `feedback`, and the answer is null.
 */
export async function lotFromScan(
  backend: Backend,
  feedback: Feedback,
  raw: string,
  item: Item,
  stock: LotStockView[] | null,
): Promise<string | null> {
  const trimmed = raw.trim();
  if (trimmed === "") return null;
  if (heldLots(stock).some((held) => held.lot === trimmed)) return trimmed;
  try {
    const resolved = await backend.resolveScan(trimmed);
    if (resolved.kind === "item" && resolved.item.id === item.id && resolved.lot !== undefined && resolved.lot !== "") return resolved.lot;
    if (resolved.kind === "item" && resolved.item.id !== item.id) {
      feedback.refuse(t("pick.wrong_item"), t("pick.expected", { expected: `${item.sku} ${item.name}` }));
    } else feedback.refuse(t("lot.scanLot"));
    return null;
  } catch (error) {
    // A lot label is no item, location or badge barcode.
    if (toCommandError(error).is("unknown_barcode")) return trimmed;
    feedback.fail(error);
    return null;
  }
}

interface LotStepProps {
  item: Item;
  location: Location;
  /** What the location holds of the item per lot; null while loading or unknown (every key then goes to the field). */
  stock: LotStockView[] | null;
  /** False on a count, which is blind: the lots are offered without their quantities. */
  showQuantities: boolean;
  onLot: (lot: string) => void;
}

export function LotStep({ item, location, stock, showQuantities, onLot }: LotStepProps) {
  const [text, setText] = useState("");
  // Nine number keys; a tenth lot is scanned or typed.
  const lots = heldLots(stock).slice(0, 9);
  const isChoiceKey = (key: string) => /^[1-9]$/.test(key) && Number(key) <= lots.length;
  return (
    <>
      <Prompt>{lots.length === 0 ? t("lot.askNew", { sku: item.sku }) : t("lot.ask", { sku: item.sku, code: location.code })}</Prompt>
      <Field
        id="lot-text"
        label={t("field.lot")}
        value={text}
        onValue={setText}
        onEnter={(value) => {
          const lot = typedLot(value);
          if (lot !== null) onLot(lot);
        }}
        // While the lots load, a digit must not land in the field: it may choose a lot.
        focused={stock !== null && lots.length === 0}
        takesKey={(key) => !isChoiceKey(key)}
      />
      {lots.length > 0 && (
        <Scroll>
          <ol class="choices" data-testid="lots">
            {lots.map((held, index) => (
              <li key={held.lot}>
                <Action
                  keyName={String(index + 1)}
                  label={showQuantities ? t("lot.choice", { lot: held.lot, onHand: held.onHand, unit: item.baseUnit }) : held.lot}
                  onRun={() => onLot(held.lot)}
                />
              </li>
            ))}
          </ol>
        </Scroll>
      )}
    </>
  );
}
