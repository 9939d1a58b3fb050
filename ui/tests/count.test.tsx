// The count screen: blind counts, and a recount when the backend finds the count off.

import { screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import type { CountRecorded } from "../src/contract";
import { Count } from "../src/screens/Count";
import { BOLT, fakeBackend, fakeResolve, LOC_A, renderScreen } from "./fake";

const OFF: CountRecorded = { eventId: "e", onHand: 7, notices: [], decision: "needs_review", expected: 4242, variance: -4235 };

describe("Count", () => {
  it("is blind and asks for one recount when the count is off", async () => {
    const count = vi.fn(async () => OFF);
    const ui = renderScreen(
      <Count onBack={() => {}} />,
      fakeBackend({
        countTasks: async () => [{ id: "task-1", location: LOC_A, item: BOLT, reason: "short pick" }],
        resolveScan: fakeResolve(),
        count,
      }),
    );
    await screen.findByText("A-01-01 · BOLT-M6 · short pick");
    ui.key("1");
    await screen.findByText("Scan the location.");
    ui.scan("L:B-02-03");
    await screen.findByText("Expected: A-01-01");
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    qty.value = "7";
    ui.key("Enter");
    await screen.findByText("The count is off. Please count again.");
    expect(document.body.textContent, "a blind count never shows the expected quantity").not.toContain("4242");
    const again = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    again.value = "7";
    ui.key("Enter");
    await screen.findByText("Count recorded and sent to a manager for review.");
    expect(document.body.textContent).not.toContain("4242");
    expect(count).toHaveBeenCalledTimes(2);
    expect(count).toHaveBeenCalledWith({ location: "loc-a", item: "item-bolt", lot: undefined, countedQty: 7, task: "task-1" });
  });
});

describe("Count, scanning", () => {
  const DONE: CountRecorded = { eventId: "e", onHand: 7, notices: [], decision: "self_approved", expected: 7, variance: 0 };

  it("starts the count at a location scanned on the task list, and an ad-hoc count stays there for the next item", async () => {
    const count = vi.fn(async () => DONE);
    const ui = renderScreen(
      <Count onBack={() => {}} />,
      fakeBackend({ countTasks: async () => [], resolveScan: fakeResolve(), count }),
    );
    await screen.findByText("No count tasks.");
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    expect(screen.getByText("A-01-01"), "the location is set").toBeTruthy();
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    ui.scan("S:BOLT-M6");
    await screen.findByText("Scanned again: quantity 2.");
    expect(qty.value, "the same item scanned again is one more").toBe("2");
    ui.key("Enter");
    await screen.findByText("Count recorded.");
    expect(count).toHaveBeenCalledWith({ location: "loc-a", item: "item-bolt", lot: undefined, countedQty: 2, task: undefined });
    expect(screen.getByText("Scan the item."), "still counting at the same location").toBeTruthy();
    ui.scan("S:NUT-M6");
    const next = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    next.value = "4";
    ui.key("Enter");
    await vi.waitFor(() => expect(count).toHaveBeenLastCalledWith({ location: "loc-a", item: "item-nut", lot: undefined, countedQty: 4, task: undefined }));
  });

  it("takes the location's task when a location with one is scanned on the list", async () => {
    const count = vi.fn(async () => DONE);
    const ui = renderScreen(
      <Count onBack={() => {}} />,
      fakeBackend({ countTasks: async () => [{ id: "task-1", location: LOC_A, item: BOLT, reason: "short_pick" }], resolveScan: fakeResolve(), count }),
    );
    await screen.findByText("A-01-01 · BOLT-M6 · Short pick");
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    qty.value = "5";
    ui.key("Enter");
    await screen.findByText("Count recorded.");
    expect(count).toHaveBeenCalledWith(expect.objectContaining({ task: "task-1", countedQty: 5 }));
  });
});
