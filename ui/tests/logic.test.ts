// Small pure pieces: quantities, pick rules, the key stack, the scan bus, idle and formats.

import { describe, expect, it, vi } from "vitest";

import type { PickLineView } from "../src/contract";
import { createKeyStack } from "../src/keys";
import { formatOffsetSeconds, percent } from "../src/logic/format";
import { idleExpired } from "../src/logic/idle";
import { afterPick, checkItemScan, checkLocationScan, nextLine, remaining } from "../src/logic/pick";
import { parseQuantity } from "../src/logic/quantity";
import { createScanBus } from "../src/scanner/bus";
import { BOLT, LOC_A, LOC_B, NUT } from "./fake";

const LINE: PickLineView = { id: "l1", location: LOC_A, item: BOLT, qty: 5, picked: 2, done: false };

describe("parseQuantity", () => {
  it.each([
    ["12", false, 12],
    [" 7 ", false, 7],
    ["0", false, null],
    ["0", true, 0],
    ["-3", false, null],
    ["2.5", false, null],
    ["1e3", false, null],
    ["", false, null],
    ["9999999", false, null],
  ])("%j (zero allowed: %s) is %s", (text, allowZero, expected) => {
    expect(parseQuantity(text, allowZero)).toBe(expected);
  });
});

describe("pick rules", () => {
  it("takes the first open line in walk order", () => {
    const lines = [
      { ...LINE, id: "b", location: LOC_B },
      { ...LINE, id: "a", done: true },
      { ...LINE, id: "c", location: { ...LOC_A, id: "loc-c", walkOrder: 15 } },
    ];
    expect(nextLine(lines)?.id).toBe("c");
  });

  it("checks scans against the line and names what it expected", () => {
    expect(checkLocationScan(LINE, { kind: "location", location: LOC_A })).toEqual({ ok: true });
    expect(checkLocationScan(LINE, { kind: "location", location: LOC_B })).toEqual({ ok: false, reason: "wrong_location", expected: "A-01-01" });
    expect(checkLocationScan(LINE, { kind: "badge", badge: "1" })).toMatchObject({ reason: "not_a_location" });
    expect(checkItemScan(LINE, { kind: "item", item: NUT, packSize: 1 })).toEqual({ ok: false, reason: "wrong_item", expected: "BOLT-M6 Bolt M6" });
  });

  it("applies a pick and a short pick to the local copy", () => {
    expect(remaining(LINE)).toBe(3);
    expect(afterPick([LINE], "l1", 3, false)[0]).toMatchObject({ picked: 5, done: true });
    expect(afterPick([LINE], "l1", 1, true)[0]).toMatchObject({ picked: 3, done: true });
    expect(afterPick([LINE], "l1", 1, false)[0]).toMatchObject({ picked: 3, done: false });
  });
});

describe("key stack", () => {
  it("lets the newest map with the key win, and ignores digits typed into a field", () => {
    const stack = createKeyStack();
    const older = vi.fn();
    const newer = vi.fn();
    stack.push(() => ({ "1": older, Escape: older }));
    const pop = stack.push(() => ({ "1": newer }));
    document.body.innerHTML = "<input id='field' />";
    const field = document.getElementById("field")!;
    const typed = new KeyboardEvent("keydown", { key: "1", bubbles: true });
    field.dispatchEvent(typed);
    expect(stack.dispatch(typed), "a digit in a field is typing").toBe(false);
    const onBody = new KeyboardEvent("keydown", { key: "1", bubbles: true, cancelable: true });
    document.body.dispatchEvent(onBody);
    expect(stack.dispatch(onBody)).toBe(true);
    expect(newer).toHaveBeenCalledOnce();
    pop();
    const escape = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
    field.dispatchEvent(escape);
    expect(stack.dispatch(escape), "named keys work from inside a field").toBe(true);
    expect(older).toHaveBeenCalledOnce();
  });
});

describe("scan bus", () => {
  it("gives scans to the newest listener only, and to the one before once it leaves", () => {
    const bus = createScanBus();
    const first: string[] = [];
    const second: string[] = [];
    bus.listen((raw) => first.push(raw));
    const leave = bus.listen((raw) => second.push(raw));
    bus.publish("a");
    leave();
    bus.publish("b");
    expect(first).toEqual(["b"]);
    expect(second).toEqual(["a"]);
  });
});

describe("idle and formats", () => {
  it("expires at the idle period", () => {
    expect(idleExpired(0, 59_999, 60_000)).toBe(false);
    expect(idleExpired(0, 60_000, 60_000)).toBe(true);
  });

  it("formats clock offsets and progress", () => {
    expect(formatOffsetSeconds(1500)).toBe("+1.5");
    expect(formatOffsetSeconds(-250)).toBe("-0.3");
    expect(percent(50, 200)).toBe(25);
    expect(percent(5, 0)).toBe(0);
  });
});

describe("locale guard", () => {
  it("tells a language tag Intl accepts from one it refuses", async () => {
    const { usableLanguage } = await import("../src/locale-guard");
    expect(usableLanguage("en-US")).toBe(true);
    expect(usableLanguage("de")).toBe(true);
    expect(usableLanguage("C")).toBe(false);
  });
});
