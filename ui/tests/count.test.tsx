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
