// The manager's variances: a time for every count, one row per key, no stale row after a
// decision, and a confirm step before A or R decides anything.

import { screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import type { Variance } from "../src/contract";
import { Manager } from "../src/screens/Manager";
import { formatTime } from "../src/logic/format";
import { BOLT, fakeBackend, LOC_A, LOC_B, NUT, renderScreen } from "./fake";

const FIRST: Variance = {
  countedEvent: "count-1", location: LOC_A, item: BOLT, countedQty: 7, expected: 12, variance: -5, user: "Ana", hlcMs: 1_700_000_000_000,
};
const RECOUNT: Variance = { ...FIRST, countedEvent: "count-2", countedQty: 8, variance: -4, hlcMs: 1_700_000_060_000 };
const OTHER: Variance = {
  countedEvent: "count-3", location: LOC_B, item: NUT, countedQty: 1, expected: 9, variance: -8, user: "Bo", hlcMs: 1_700_000_120_000,
};
const RECORDED = { eventId: "r", onHand: 8, notices: [] };

function rowsShown(): string[] {
  return Array.from(document.querySelectorAll("[data-testid=variances] tbody tr")).map((row) => row.textContent ?? "");
}

describe("Variances", () => {
  it("never shows Invalid Date, and shows when each count was taken", async () => {
    // A backend older than the field sends no `hlcMs`; the contract now always has it.
    const { hlcMs: _dropped, ...rest } = OTHER;
    const withoutTime = rest as Variance;
    renderScreen(<Manager onBack={() => {}} />, fakeBackend({ variances: async () => [RECOUNT, withoutTime] }));
    await screen.findByText("B-02-03");
    expect(document.body.textContent).not.toContain("Invalid Date");
    expect(screen.getByText(formatTime(RECOUNT.hlcMs!))).toBeTruthy();
  });

  it("shows a count and its recount as one row, the recount, and leaves no stale row once it is decided", async () => {
    let open = [FIRST, RECOUNT, OTHER];
    const reviewCount = vi.fn(async (counted: string) => {
      // The store keeps the first count open after its recount was decided.
      open = open.filter((each) => each.countedEvent !== counted);
      return RECORDED;
    });
    const ui = renderScreen(<Manager onBack={() => {}} />, fakeBackend({ variances: async () => open, reviewCount }));
    await screen.findByText("B-02-03");
    expect(rowsShown().length, "one row per key").toBe(2);
    expect(rowsShown()[0], "the recount is the row shown").toContain("8");
    ui.key("a");
    await screen.findByTestId("confirm");
    ui.key("Enter");
    await screen.findByText("Variance approved.");
    expect(reviewCount).toHaveBeenCalledWith("count-2", true);
    await vi.waitFor(() => expect(rowsShown().length).toBe(1));
    expect(rowsShown()[0], "only the other key is left").toContain("NUT-M6");
  });

  it("asks before deciding: A then Enter approves, R then R rejects, Esc cancels and stays", async () => {
    const reviewCount = vi.fn(async () => RECORDED);
    const onBack = vi.fn();
    const ui = renderScreen(<Manager onBack={onBack} />, fakeBackend({ variances: async () => [OTHER], reviewCount }));
    await screen.findByText("B-02-03");

    ui.key("a");
    await screen.findByTestId("confirm");
    expect(reviewCount, "A alone decides nothing").not.toHaveBeenCalled();
    expect(screen.getByTestId("confirm").textContent).toContain("Approve the count of NUT-M6 at B-02-03");
    ui.key("Escape");
    await vi.waitFor(() => expect(screen.queryByTestId("confirm")).toBeNull());
    expect(onBack, "Esc cancels the question, it does not leave the screen").not.toHaveBeenCalled();
    expect(reviewCount).not.toHaveBeenCalled();

    ui.key("r");
    await screen.findByTestId("confirm");
    ui.key("r");
    await screen.findByText("Variance rejected.");
    expect(reviewCount).toHaveBeenCalledWith("count-3", false);
  });
});
