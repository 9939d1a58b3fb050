// Lot-tracked items always carry a lot: the lot step offers what the location holds (number
// keys), takes a scanned or typed lot, asks the expiry on receive, and answers the backend's
// `lot_required` instead of showing a dead end. Items without lots never hear of lots.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { isDate } from "../src/logic/lots";
import { Receive } from "../src/screens/Receive";
import { fakeBackend, fakeFloor, fakeResolve, GLUE, LOC_A, renderScreen } from "./fake";

const GLUE_STOCK = [
  { location: LOC_A.id, item: GLUE.id, lot: "L1", onHand: 12 },
  { location: LOC_A.id, item: GLUE.id, lot: "L2", onHand: 3 },
];

/** Types `value` into the field labelled `label` and presses Enter there. */
async function typeAndEnter(label: string, value: string): Promise<void> {
  const field = (await screen.findByLabelText(label)) as HTMLInputElement;
  field.focus();
  fireEvent.input(field, { target: { value } });
  field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
}

describe("Receive and lots", () => {
  it("never says lot or expiry for an item that is not lot-tracked", async () => {
    const floor = fakeFloor();
    const ui = renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve(), ...floor.backend }));
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    await screen.findByText("Enter the quantity.");
    expect(document.body.textContent, "no lot talk for BOLT").not.toContain("check lot and expiry");
    expect(screen.queryByLabelText("Lot"), "no lot field for BOLT").toBeNull();
    await typeAndEnter("Quantity", "4");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("Received 4 × BOLT-M6 at A-01-01. On hand: 4.");
    expect(floor.calls.filter(([name]) => name === "receive")).toEqual([["receive", { location: "loc-a", item: "item-bolt", qty: 4 }]]);
  });

  it("asks the lot of a lot-tracked item, offering what the location holds by number key, then its expiry", async () => {
    const floor = fakeFloor(GLUE_STOCK);
    const ui = renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve(), ...floor.backend }));
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:GLUE-1");
    await screen.findByText("GLUE-1 needs its lot. Choose one A-01-01 holds, or scan or type it.");
    expect(screen.getByTestId("lots").textContent, "each lot with what the location holds of it").toContain("L1: 12 pcs");
    expect(screen.getByTestId("lots").textContent).toContain("L2: 3 pcs");
    ui.key("2");
    await screen.findByText("Expiry of lot L2: type it as YYYY-MM-DD, or press Enter if it has none.");
    await typeAndEnter("Expiry", "2026-02-30");
    await screen.findByText("Write the expiry as YYYY-MM-DD, a real date.");
    await typeAndEnter("Expiry", "2027-03-31");
    await screen.findByText("Enter the quantity; check lot and expiry.");
    await typeAndEnter("Quantity", "5");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("Received 5 × GLUE-1 at A-01-01. On hand: 8.");
    expect(floor.calls.at(-1)).toEqual(["receive", { location: "loc-a", item: "item-glue", lot: "L2", expiry: "2027-03-31", qty: 5 }]);
  });

  it("takes a scanned lot label the location does not hold yet, and Enter skips the expiry", async () => {
    const floor = fakeFloor(GLUE_STOCK);
    const ui = renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve(), ...floor.backend }));
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:GLUE-1");
    await screen.findByTestId("lots");
    ui.scan("L2409Z");
    await screen.findByText("Expiry of lot L2409Z: type it as YYYY-MM-DD, or press Enter if it has none.");
    await typeAndEnter("Expiry", "");
    await typeAndEnter("Quantity", "7");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("Received 7 × GLUE-1 at A-01-01. On hand: 7.");
    expect(floor.calls.at(-1)).toEqual(["receive", { location: "loc-a", item: "item-glue", lot: "L2409Z", qty: 7 }]);
  });

  it("goes to the lot step when the backend answers lot_required, and receives with the lot chosen", async () => {
    // The PC's item list is older than the backend's: it does not know GLUE is lot-tracked.
    const stale = { kind: "item" as const, item: { ...GLUE, lotTracked: false }, packSize: 1 };
    const floor = fakeFloor(GLUE_STOCK);
    const receive = vi.fn(floor.backend.receive);
    const ui = renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve({ OLD: stale }), ...floor.backend, receive }));
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("OLD");
    await typeAndEnter("Quantity", "2");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("GLUE-1 needs its lot. Choose one A-01-01 holds, or scan or type it.");
    expect(screen.getByText("This item needs its lot. Scan or type the lot."), "says why").toBeTruthy();
    ui.key("1");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("Received 2 × GLUE-1 at A-01-01. On hand: 14.");
    expect(receive).toHaveBeenLastCalledWith({ location: "loc-a", item: "item-glue", lot: "L1", qty: 2 });
  });

  it("knows a real date", () => {
    expect(isDate("2024-02-29")).toBe(true);
    expect(isDate("2023-02-29")).toBe(false);
    expect(isDate("2023-2-01")).toBe(false);
  });
});
