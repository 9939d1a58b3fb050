// Pick and Count of a lot-tracked item: every action names its lot. A line or task that names
// none gets it from the scan or the lot step; a short pick carries it; a blind count offers
// the lots without their quantities, even when the backend answers lot_required.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import type { PickListView } from "../src/contract";
import { Count } from "../src/screens/Count";
import { Pick } from "../src/screens/Pick";
import { fakeBackend, fakeFloor, fakeResolve, GLUE, LOC_A, renderScreen } from "./fake";

const GLUE_STOCK = [
  { location: LOC_A.id, item: GLUE.id, lot: "L1", onHand: 4242 },
  { location: LOC_A.id, item: GLUE.id, lot: "L2", onHand: 3 },
];

const LIST: PickListView = { id: "pl-9", reference: "PL-9", lines: [{ id: 7, location: LOC_A, item: GLUE, qty: 3, picked: 0, done: false }], notices: [], cancelled: false, putBacks: [] };

function pickScreen(resolve = fakeResolve()) {
  const floor = fakeFloor(GLUE_STOCK, { "7": { location: LOC_A.id, item: GLUE.id } });
  const ui = renderScreen(
    <Pick onBack={() => {}} />,
    fakeBackend({
      pickLists: async () => [{ id: "pl-9", reference: "PL-9", nLines: 1, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }],
      openPickList: async () => structuredClone(LIST),
      resolveScan: resolve,
      ...floor.backend,
    }),
  );
  return { ui, floor };
}

async function toItem(ui: ReturnType<typeof renderScreen>): Promise<void> {
  await screen.findByText(/PL-9 · 0\/1 lines/);
  ui.key("Enter");
  await screen.findByText("Go to A-01-01 and scan the location.");
  ui.scan("L:A-01-01");
  await screen.findByText("Scan the item GLUE-1.");
}

describe("Pick of a lot-tracked item", () => {
  it("asks the lot when the scan named none, and picks that lot", async () => {
    const { ui, floor } = pickScreen();
    await toItem(ui);
    ui.scan("S:GLUE-1");
    await screen.findByText("GLUE-1 needs its lot. Choose one A-01-01 holds, or scan or type it.");
    ui.key("2");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    qty.focus();
    ui.key("Enter");
    await screen.findByText("Line picked.");
    expect(floor.calls.at(-1)).toEqual(["pickLine", { pickList: "pl-9", line: 7, location: "loc-a", item: "item-glue", lot: "L2", qty: 3 }]);
  });

  it("takes the lot from a GS1 scan without asking", async () => {
    const gs1 = { kind: "item" as const, item: GLUE, lot: "L1", packSize: 1 };
    const { ui, floor } = pickScreen(fakeResolve({ GS1: gs1 }));
    await toItem(ui);
    ui.scan("GS1");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    expect(screen.queryByTestId("lots"), "no lot step").toBeNull();
    qty.focus();
    ui.key("Enter");
    await screen.findByText("Line picked.");
    expect(floor.calls.at(-1)).toEqual(["pickLine", { pickList: "pl-9", line: 7, location: "loc-a", item: "item-glue", lot: "L1", qty: 3 }]);
  });

  it("sends the lot with a short pick on a line that names none", async () => {
    const { ui, floor } = pickScreen();
    await toItem(ui);
    ui.scan("S:GLUE-1");
    await screen.findByTestId("lots");
    ui.key("1");
    await screen.findByLabelText("Quantity");
    ui.key("F4");
    await screen.findByText("Why is the pick short?");
    ui.key("2");
    await screen.findByText("Short pick recorded.");
    expect(floor.calls.at(-1)).toEqual(["shortPick", { pickList: "pl-9", line: 7, qtyShort: 3, reason: "damaged", lot: "L1" }]);
  });

  it("goes to the lot step when the backend answers lot_required", async () => {
    const stale = { kind: "item" as const, item: { ...GLUE, lotTracked: false }, packSize: 1 };
    const staleList = { ...LIST, lines: [{ ...LIST.lines[0]!, item: { ...GLUE, lotTracked: false } }] };
    const floor = fakeFloor(GLUE_STOCK, { "7": { location: LOC_A.id, item: GLUE.id } });
    const ui = renderScreen(
      <Pick onBack={() => {}} />,
      fakeBackend({
        pickLists: async () => [{ id: "pl-9", reference: "PL-9", nLines: 1, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }],
        openPickList: async () => structuredClone(staleList),
        resolveScan: fakeResolve({ OLD: stale }),
        ...floor.backend,
      }),
    );
    await toItem(ui);
    ui.scan("OLD");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    qty.focus();
    ui.key("Enter");
    await screen.findByTestId("lots");
    expect(screen.getByText("This item needs its lot. Scan or type the lot.")).toBeTruthy();
    ui.key("2");
    (await screen.findByLabelText("Quantity")).focus();
    ui.key("Enter");
    await screen.findByText("Line picked.");
    expect(floor.calls.at(-1)?.[1]).toMatchObject({ lot: "L2", qty: 3 });
  });
});

describe("Count of a lot-tracked item", () => {
  function countScreen(overrides = {}) {
    const floor = fakeFloor(GLUE_STOCK);
    const ui = renderScreen(<Count onBack={() => {}} />, fakeBackend({ countTasks: async () => [], resolveScan: fakeResolve(), ...floor.backend, ...overrides }));
    return { ui, floor };
  }

  it("offers the lots without their quantities and counts the one chosen", async () => {
    const { ui, floor } = countScreen();
    await screen.findByText("No count tasks.");
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:GLUE-1");
    await screen.findByTestId("lots");
    expect(screen.getByTestId("lots").textContent).toContain("L1");
    expect(document.body.textContent, "a blind count never shows what a lot holds").not.toContain("4242");
    ui.key("1");
    const qty = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    fireEvent.input(qty, { target: { value: "4242" } });
    qty.focus();
    ui.key("Enter");
    await screen.findByText("Count recorded.");
    expect(floor.calls.at(-1)).toEqual(["count", { location: "loc-a", item: "item-glue", lot: "L1", countedQty: 4242 }]);
  });

  it("answers lot_required with the lot step, without the backend's quantities", async () => {
    const stale = { kind: "item" as const, item: { ...GLUE, lotTracked: false }, packSize: 1 };
    const { ui, floor } = countScreen({ resolveScan: fakeResolve({ OLD: stale }) });
    await screen.findByText("No count tasks.");
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("OLD");
    const qty = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    fireEvent.input(qty, { target: { value: "5" } });
    qty.focus();
    ui.key("Enter");
    await screen.findByTestId("lots");
    expect(screen.getByText("This item needs its lot. Scan or type the lot.")).toBeTruthy();
    expect(document.body.textContent, "the backend's message lists what each lot holds").not.toContain("4242");
    ui.key("2");
    const again = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    fireEvent.input(again, { target: { value: "5" } });
    again.focus();
    ui.key("Enter");
    await screen.findByText("Count recorded.");
    await vi.waitFor(() => expect(floor.calls.at(-1)).toEqual(["count", { location: "loc-a", item: "item-glue", lot: "L2", countedQty: 5 }]));
  });
});
