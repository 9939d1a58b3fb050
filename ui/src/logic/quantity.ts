// Parsing quantities typed on the floor: whole numbers in the item's base unit.

/** The largest quantity one line may carry; anything bigger is a slip of the finger. */
export const MAX_QUANTITY = 1_000_000;

/** A positive whole number (or zero when `allowZero`), or null for anything else. */
export function parseQuantity(text: string, allowZero = false): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,7}$/.test(trimmed)) return null;
  const value = Number(trimmed);
  if (value > MAX_QUANTITY) return null;
  if (value === 0 && !allowZero) return null;
  return value;
}
