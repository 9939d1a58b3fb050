// The move screen shows what the source holds of the item per lot, asks before moving more
// than that (then sends confirmOverSource), names the lot of a lot-tracked item, and says a
// move to the same location in its own words.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { CommandError } from "../src/backend";
import { errorText } from "../src/errors";
import { Move } from "../src/screens/Move";
import { BOLT, fakeBackend, fakeFloor, fakeResolve, GLUE, LOC_A, LOC_B, renderScreen } from "./fake";

async function typeAndEnter(label: string, value: string): Promise<void> {
  const field = (await screen.findByLabelText(label)) as HTMLInputElement;
  field.focus();
  fireEvent.input(field, { target: { value } });
  field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
}

function fact(label: string): string {
  const found = Array.from(document.querySelectorAll(".fact")).find((each) => each.querySelector("dt")?.textContent === label);
  return found?.querySelector("dd")?.textContent ?? "";
}

function moveScreen(floor = fakeFloor([{ location: LOC_A.id, item: BOLT.id, onHand: 12 }])) {
  const ui = renderScreen(<Move onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve(), ...floor.backend }));
  return { ui, floor };
}

describe("Move", () => {
  it("shows what the source holds once location and item are known", async () => {
    const { ui } = moveScreen();
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    expect(fact("A-01-01 holds"), "nothing to show before the item").toBe("");
    ui.scan("S:BOLT-M6");
    await vi.waitFor(() => expect(fact("A-01-01 holds")).toBe("12"));
  });

  it("asks before moving more than the source holds; Esc goes back, Enter sends confirmOverSource", async () => {
    const { ui, floor } = moveScreen();
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    await vi.waitFor(() => expect(fact("A-01-01 holds")).toBe("12"));
    await typeAndEnter("Quantity", "20");
    await screen.findByText("A-01-01 holds 12. Move 20 anyway?");
    ui.key("Escape");
    await screen.findByText("Enter the quantity to move.");
    await typeAndEnter("Quantity", "20");
    await screen.findByText("A-01-01 holds 12. Move 20 anyway?");
    ui.key("Enter");
    await screen.findByText("Scan the location to move to.");
    ui.scan("L:B-02-03");
    await screen.findByText("Press Enter to move.");
    ui.key("Enter");
    await screen.findByText("Moved 20 × BOLT-M6 from A-01-01 to B-02-03.");
    expect(floor.calls.filter(([name]) => name === "moveStock")).toEqual([
      ["moveStock", { from: "loc-a", to: "loc-b", item: "item-bolt", qty: 20, confirmOverSource: true }],
    ]);
  });

  it("sends no confirmation for a move within the source, and F2 answers the question too", async () => {
    const { ui, floor } = moveScreen();
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    await vi.waitFor(() => expect(fact("A-01-01 holds")).toBe("12"));
    await typeAndEnter("Quantity", "12");
    await screen.findByText("Scan the location to move to.");
    ui.scan("L:B-02-03");
    await screen.findByText("Press Enter to move.");
    ui.key("Enter");
    await screen.findByText("Moved 12 × BOLT-M6 from A-01-01 to B-02-03.");
    expect(floor.calls.at(-1)).toEqual(["moveStock", { from: "loc-a", to: "loc-b", item: "item-bolt", qty: 12 }]);

    ui.scan("S:BOLT-M6");
    await vi.waitFor(() => expect(fact("A-01-01 holds")).toBe("nothing"));
    await typeAndEnter("Quantity", "1");
    await screen.findByText("A-01-01 holds 0. Move 1 anyway?");
    ui.key("F2");
    await screen.findByText("Scan the location to move to.");
  });

  it("asks when the backend answers move_exceeds_source, and sends again confirmed", async () => {
    const floor = fakeFloor([{ location: LOC_A.id, item: BOLT.id, onHand: 12 }]);
    // The screen could not look at the source: only the backend knows.
    const ui = renderScreen(
      <Move onBack={() => {}} />,
      fakeBackend({ resolveScan: fakeResolve(), ...floor.backend, stockAt: () => Promise.reject(new CommandError("store_busy", "busy")) }),
    );
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    await typeAndEnter("Quantity", "20");
    await screen.findByText("Scan the location to move to.");
    expect(fact("A-01-01 holds"), "what the screen does not know it does not show").toBe("");
    ui.scan("L:B-02-03");
    await screen.findByText("Press Enter to move.");
    ui.key("Enter");
    await screen.findByText("A-01-01 holds 12. Move 20 anyway?");
    ui.key("Enter");
    await screen.findByText("Moved 20 × BOLT-M6 from A-01-01 to B-02-03.");
    expect(floor.calls.filter(([name]) => name === "moveStock").map(([, args]) => args)).toEqual([
      { from: "loc-a", to: "loc-b", item: "item-bolt", qty: 20 },
      { from: "loc-a", to: "loc-b", item: "item-bolt", qty: 20, confirmOverSource: true },
    ]);
  });

  it("names the lot of a lot-tracked item from what the source holds per lot", async () => {
    const floor = fakeFloor([
      { location: LOC_A.id, item: GLUE.id, lot: "L1", onHand: 12 },
      { location: LOC_A.id, item: GLUE.id, lot: "L2", onHand: 3 },
    ]);
    const { ui } = moveScreen(floor);
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:GLUE-1");
    await screen.findByTestId("lots");
    expect(fact("A-01-01 holds")).toBe("L1: 12 · L2: 3");
    ui.key("2");
    await screen.findByText("Enter the quantity to move.");
    await typeAndEnter("Quantity", "5");
    await screen.findByText("A-01-01 holds 3. Move 5 anyway?");
    ui.key("Escape");
    await typeAndEnter("Quantity", "3");
    ui.scan("L:B-02-03");
    await screen.findByText("Press Enter to move.");
    ui.key("Enter");
    await screen.findByText("Moved 3 × GLUE-1 from A-01-01 to B-02-03.");
    expect(floor.calls.at(-1)).toEqual(["moveStock", { from: "loc-a", to: "loc-b", item: "item-glue", lot: "L2", qty: 3 }]);
  });

  it("says a move to the same location in its own words, not as a quantity error", async () => {
    const { ui } = moveScreen();
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    await typeAndEnter("Quantity", "2");
    ui.scan("L:A-01-01");
    await screen.findByText("From and to are the same location. Scan another location to move to.");
    expect(screen.getByText("Scan the location to move to."), "still asks where to").toBeTruthy();
    expect(errorText(new CommandError("same_location", "A-01-01 is both")).title).toBe(
      "From and to are the same location. Scan another location to move to.",
    );
    expect(LOC_B.id).not.toBe(LOC_A.id);
  });
});
