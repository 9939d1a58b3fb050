// Pick list rules the screen follows: walk order, the next line, and whether a scan is the
// expected location or item. The backend checks again (`wrong_location`, `wrong_item`); this
// lets the screen refuse at once and say what it expected.

import type { PickLineView, Resolved } from "../contract";

export function sortByWalkOrder(lines: PickLineView[]): PickLineView[] {
  return [...lines].sort((left, right) => left.location.walkOrder - right.location.walkOrder);
}

/** The first line not done yet, in walk order. */
export function nextLine(lines: PickLineView[]): PickLineView | undefined {
  return sortByWalkOrder(lines).find((line) => !line.done);
}

export function remaining(line: PickLineView): number {
  return Math.max(0, line.qty - line.picked);
}

export type ScanCheck = { ok: true } | { ok: false; reason: "not_a_location" | "wrong_location" | "not_an_item" | "wrong_item"; expected: string };

export function checkLocationScan(line: PickLineView, resolved: Resolved): ScanCheck {
  const expected = line.location.code;
  if (resolved.kind !== "location") return { ok: false, reason: "not_a_location", expected };
  if (resolved.location.id !== line.location.id) return { ok: false, reason: "wrong_location", expected };
  return { ok: true };
}

export function checkItemScan(line: PickLineView, resolved: Resolved): ScanCheck {
  const expected = `${line.item.sku} ${line.item.name}`;
  if (resolved.kind !== "item") return { ok: false, reason: "not_an_item", expected };
  if (resolved.item.id !== line.item.id) return { ok: false, reason: "wrong_item", expected };
  return { ok: true };
}

/** Applies a recorded pick (or short pick) to the local copy of the list. */
export function afterPick(lines: PickLineView[], lineId: number, pickedQty: number, closed: boolean): PickLineView[] {
  return lines.map((line) => {
    if (line.id !== lineId) return line;
    const picked = line.picked + pickedQty;
    return { ...line, picked, done: closed || picked >= line.qty };
  });
}
