// Lots and what a location holds of them: pure rules for the lot prompt, the move screen's
// source and the expiry asked on receive.

import type { LotStockView } from "../contract";

/** A lot the location holds, to offer in the lot prompt. */
export interface HeldLot {
  lot: string;
  onHand: number;
}

/** The lots among `rows` (stock without a lot is no lot to offer), in the backend's order. */
export function heldLots(rows: readonly LotStockView[] | null): HeldLot[] {
  return (rows ?? []).flatMap((row) => (row.lot === undefined || row.lot === null || row.lot === "" ? [] : [{ lot: row.lot, onHand: row.onHand }]));
}

/** What `rows` hold of `lot` (undefined: the stock without a lot); zero when absent. */
export function heldOf(rows: readonly LotStockView[], lot: string | undefined): number {
  const wanted = lot === undefined || lot === "" ? null : lot;
  return rows.find((row) => (row.lot === undefined || row.lot === "" ? null : row.lot) === wanted)?.onHand ?? 0;
}

/**
 * What a lot typed or scanned in the lot prompt names: a lot offered by its exact text, or
 * else the text itself (a lot the location does not hold yet, as on receive); null when
 * there is nothing.
 */
export function typedLot(text: string): string | null {
  const trimmed = text.trim();
  return trimmed === "" ? null : trimmed;
}

/** Whether `text` is a real calendar date written `YYYY-MM-DD`. */
export function isDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
