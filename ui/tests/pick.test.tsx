// The pick screen with a fake backend: walk order, refusing a wrong scan with what was
// expected, and a short pick with its reason.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { CommandError } from "../src/backend";
import type { PickListView } from "../src/contract";
import { Pick } from "../src/screens/Pick";
import { BOLT, fakeBackend, fakeResolve, LOC_A, LOC_B, NUT, renderScreen } from "./fake";

// Lines deliberately out of walk order: B (20) comes first in the answer, A (10) first on the floor.
const LIST: PickListView = {
  id: "pl-1",
  reference: "PL-1001",
  lines: [
    { id: 2, location: LOC_B, item: NUT, qty: 4, picked: 0, done: false },
    { id: 1, location: LOC_A, item: BOLT, qty: 5, picked: 0, done: false },
  ],
  notices: [],
  cancelled: false,
  putBacks: [],
};

function pickBackend(overrides = {}) {
  return fakeBackend({
    pickLists: async () => [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }],
    openPickList: async () => structuredClone(LIST),
    resolveScan: fakeResolve(),
    pickLine: vi.fn(async () => ({ eventId: "e1", onHand: 7, notices: [] })),
    shortPick: vi.fn(async () => ({ eventId: "e2", onHand: 0, notices: [] })),
    ...overrides,
  });
}

async function openNext(ui: ReturnType<typeof renderScreen>): Promise<void> {
  await screen.findByText(/PL-1001 · 0\/2 lines/);
  ui.key("Enter");
  await screen.findByText("Go to A-01-01 and scan the location.");
}

describe("Pick", () => {
  it("stops a picker whose list the ERP cancelled and puts back what was picked", async () => {
    const cancelled: PickListView = {
      ...LIST,
      lines: [],
      cancelled: true,
      putBacks: [{ line: 1, location: LOC_A, item: BOLT, picked: 3, due: 3 }],
    };
    const opened = vi.fn(async (pickList?: string) => (pickList === undefined ? structuredClone(LIST) : structuredClone(cancelled)));
    const putBack = vi.fn(async () => ({ eventId: "e3", onHand: 3, notices: [] }));
    const backend = pickBackend({
      openPickList: opened,
      pickLine: async () => Promise.reject(new CommandError("pick_list_cancelled", "Cancelled by the ERP")),
      putBack,
    });
    const ui = renderScreen(<Pick onBack={() => {}} />, backend);
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:BOLT-M6");
    await screen.findByLabelText("Quantity");
    ui.key("Enter");
    expect(await screen.findByText("Cancelled by the ERP: put back what was picked for PL-1001")).toBeTruthy();
    expect(screen.getByText("Cancelled by the ERP: this list is not picked any more")).toBeTruthy();
    expect(screen.getByText("3 x BOLT-M6 → A-01-01"), "the interrupt says what goes back where").toBeTruthy();
    expect(ui.sounds.at(-1)).toBe("error");
    expect(screen.queryByLabelText("Quantity"), "nothing more is picked").toBeNull();
    opened.mockImplementation(async () => structuredClone({ ...cancelled, putBacks: [] }));
    ui.key("1");
    await screen.findByText("Put back: 3 x BOLT-M6 to A-01-01");
    expect(putBack).toHaveBeenCalledWith({ pickList: "pl-1", line: 1, location: "loc-a", lot: undefined, qty: 3 });
    expect(screen.getByText("Cancelled by the ERP: nothing of PL-1001 is left to put back")).toBeTruthy();
  });

  it("puts back to a location the manager scanned", async () => {
    const cancelled: PickListView = {
      ...LIST,
      lines: [],
      cancelled: true,
      putBacks: [{ line: 1, location: LOC_A, item: BOLT, picked: 2, due: 2 }],
    };
    const putBack = vi.fn(async () => ({ eventId: "e4", onHand: 2, notices: [] }));
    const backend = pickBackend({ openPickList: async () => structuredClone(cancelled), putBack });
    const ui = renderScreen(<Pick onBack={() => {}} />, backend);
    await screen.findByText(/PL-1001/);
    ui.key("Enter");
    await screen.findByText("Put back 2 x BOLT-M6 Bolt M6 to A-01-01");
    ui.scan("L:B-02-03");
    await screen.findByText("Goods go back to B-02-03 (a manager's choice)");
    expect(screen.getByText("Put back 2 x BOLT-M6 Bolt M6 to B-02-03")).toBeTruthy();
    ui.key("1");
    await screen.findByText("Put back: 2 x BOLT-M6 to B-02-03");
    expect(putBack).toHaveBeenCalledWith({ pickList: "pl-1", line: 1, location: "loc-b", lot: undefined, qty: 2 });
  });

  it("starts with the line first in walk order", async () => {
    const ui = renderScreen(<Pick onBack={() => {}} />, pickBackend());
    await openNext(ui);
    expect(screen.getByText("PL-1001 · line 1 of 2")).toBeTruthy();
  });

  it("refuses a wrong location with the error sound and says which one it expected", async () => {
    const ui = renderScreen(<Pick onBack={() => {}} />, pickBackend());
    await openNext(ui);
    ui.scan("L:B-02-03");
    await screen.findByText("Wrong location.");
    expect(screen.getByText("Expected: A-01-01")).toBeTruthy();
    expect(ui.sounds.at(-1)).toBe("error");
    expect(screen.getByText("Go to A-01-01 and scan the location."), "still waiting for the right location").toBeTruthy();
  });

  it("refuses a wrong item, then picks the line with the right one", async () => {
    const backend = pickBackend();
    const ui = renderScreen(<Pick onBack={() => {}} />, backend);
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:NUT-M6");
    await screen.findByText("Wrong item.");
    expect(screen.getByText("Expected: BOLT-M6 Bolt M6")).toBeTruthy();
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    expect(qty.value, "the remaining quantity is proposed").toBe("5");
    ui.key("Enter");
    await screen.findByText("Line picked.");
    expect(backend.pickLine).toHaveBeenCalledWith({ pickList: "pl-1", line: 1, location: "loc-a", item: "item-bolt", lot: undefined, qty: 5 });
    expect(await screen.findByText("Go to B-02-03 and scan the location.")).toBeTruthy();
  });

  it("says what was expected when the backend refuses with wrong_location", async () => {
    const ui = renderScreen(
      <Pick onBack={() => {}} />,
      pickBackend({ pickLine: async () => Promise.reject(new CommandError("wrong_location", "anything")) }),
    );
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:BOLT-M6");
    await screen.findByLabelText("Quantity");
    ui.key("Enter");
    await screen.findByText("Wrong location.");
    expect(screen.getByText("Expected: A-01-01")).toBeTruthy();
  });

  it("asks a reason for a short pick and records both parts", async () => {
    const backend = pickBackend();
    const ui = renderScreen(<Pick onBack={() => {}} />, backend);
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    fireEvent.input(qty, { target: { value: "3" } });
    ui.key("Enter");
    await screen.findByText("Why is the pick short?");
    ui.key("2");
    await screen.findByText("Short pick recorded.");
    expect(backend.pickLine).toHaveBeenCalledWith(expect.objectContaining({ qty: 3 }));
    expect(backend.shortPick).toHaveBeenCalledWith({ pickList: "pl-1", line: 1, qtyShort: 2, reason: "damaged" });
  });
});

describe("Pick, as seen on the demo", () => {
  it("selects the proposed quantity, so typing 2 over 4 gives 2", async () => {
    const backend = pickBackend();
    const ui = renderScreen(<Pick onBack={() => {}} />, backend);
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    expect(qty.value).toBe("5");
    expect(document.activeElement, "the quantity field has the focus").toBe(qty);
    expect([qty.selectionStart, qty.selectionEnd], "the proposal is selected: a typed digit replaces it").toEqual([0, 1]);
  });

  it("counts by scanning: the same item scanned again is one more", async () => {
    const backend = pickBackend();
    const ui = renderScreen(<Pick onBack={() => {}} />, backend);
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    ui.scan("S:BOLT-M6");
    await screen.findByText("Scanned again: quantity 2.");
    expect(qty.value, "two scans, two units").toBe("2");
    ui.scan("S:BOLT-M6");
    await screen.findByText("Scanned again: quantity 3.");
    ui.scan("S:NUT-M6");
    await screen.findByText("No scan expected now.");
    expect(qty.value, "another item changes nothing").toBe("3");
  });

  it("says which lines are short when the walk is done, and what happens to them", async () => {
    const ui = renderScreen(<Pick onBack={() => {}} />, pickBackend());
    await openNext(ui);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item BOLT-M6.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    fireEvent.input(qty, { target: { value: "3" } });
    ui.key("Enter");
    await screen.findByText("Why is the pick short?");
    ui.key("1");
    await screen.findByText("Go to B-02-03 and scan the location.");
    ui.scan("L:B-02-03");
    await screen.findByText("Scan the item NUT-M6.");
    ui.scan("S:NUT-M6");
    await screen.findByLabelText("Quantity");
    ui.key("Enter");
    await screen.findByText("Pick list PL-1001: every line visited, 1 short.");
    expect(screen.queryByText("Pick list PL-1001 is complete."), "a short list is not called complete").toBeNull();
    expect(screen.getByTestId("short-lines").textContent).toContain("A-01-01 · BOLT-M6 Bolt M6: 3 of 5 picked");
    expect(screen.getByText(/A count task was raised for each short line/)).toBeTruthy();
  });

  it("says nothing about a claim nobody holds", async () => {
    renderScreen(<Pick onBack={() => {}} />, pickBackend());
    await screen.findByText(/PL-1001 · 0\/2 lines/);
    expect(document.body.textContent).not.toContain("claimed by -");
    expect(document.body.textContent).not.toContain("claimed by");
  });
});
