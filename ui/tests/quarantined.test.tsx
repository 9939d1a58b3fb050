// The manager's quarantined tab: an event refused for its clock offers "Record again now"
// (F3 and a button), which records it again, refreshes the list and says what happened;
// other refusals offer nothing.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { CommandError } from "../src/backend";
import type { QuarantinedEvent } from "../src/contract";
import { Manager } from "../src/screens/Manager";
import { fakeBackend, renderScreen } from "./fake";

const REFUSED: QuarantinedEvent = {
  eventId: "ev-refused", kind: "received", reason: "unknown item", attempts: 3, summary: "received 4 x X-1 at A-01-01", canRecordAgain: false,
};
const AHEAD: QuarantinedEvent = {
  eventId: "ev-ahead", kind: "moved", reason: "clock_ahead: stamped 3 h ahead", attempts: 1, summary: "moved 5 x BOLT-M6 A-01-01 to B-02-03", canRecordAgain: true,
};

/** A backend that keeps the quarantine list and takes a clock_ahead event out of it when recorded again. */
function quarantineBackend(initial: QuarantinedEvent[]) {
  let open = [...initial];
  const recordAgain = vi.fn(async (eventId: string) => {
    const found = open.find((each) => each.eventId === eventId);
    if (found === undefined) throw new CommandError("not_found", `a refused event ${eventId} was not found`);
    if (!found.canRecordAgain) throw new CommandError("bad_settings", "only an event refused for its clock can be recorded again");
    open = open.filter((each) => each !== found);
    return { eventId: "ev-new", onHand: 5, notices: [] };
  });
  return { backend: fakeBackend({ variances: async () => [], quarantined: async () => open, recordAgain }), recordAgain };
}

async function openTab(ui: ReturnType<typeof renderScreen>): Promise<void> {
  await screen.findByText("No variances to review.");
  ui.key("3");
}

describe("Quarantined", () => {
  it("records a clock_ahead refusal again with F3, refreshes the list and says so", async () => {
    const { backend, recordAgain } = quarantineBackend([REFUSED, AHEAD]);
    const ui = renderScreen(<Manager onBack={() => {}} />, backend);
    await openTab(ui);
    await screen.findByText(AHEAD.summary);
    expect(screen.getByText("Can be recorded again now")).toBeTruthy();
    ui.key("F3");
    await screen.findByText(`Recorded again now as a new event: ${AHEAD.summary}`);
    expect(recordAgain).toHaveBeenCalledWith("ev-ahead");
    await vi.waitFor(() => expect(screen.queryByText(AHEAD.summary), "the original leaves the list").toBeNull());
    expect(screen.getByText(REFUSED.summary)).toBeTruthy();
    expect(screen.queryByTestId("action-F3"), "nothing left to record again").toBeNull();
  });

  it("acts on the row chosen: a row that cannot be recorded again disables the action", async () => {
    const { backend, recordAgain } = quarantineBackend([AHEAD, REFUSED]);
    const ui = renderScreen(<Manager onBack={() => {}} />, backend);
    await openTab(ui);
    await screen.findByText(REFUSED.summary);
    ui.key("ArrowDown");
    await vi.waitFor(() => expect((screen.getByTestId("action-F3") as HTMLButtonElement).disabled).toBe(true));
    ui.key("F3");
    expect(recordAgain).not.toHaveBeenCalled();
    fireEvent.click(screen.getByText(AHEAD.summary));
    await vi.waitFor(() => expect((screen.getByTestId("action-F3") as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId("action-F3"));
    await screen.findByText(`Recorded again now as a new event: ${AHEAD.summary}`);
    expect(recordAgain).toHaveBeenCalledWith("ev-ahead");
  });

  it("offers nothing for refusals that are not about the clock", async () => {
    const { backend } = quarantineBackend([REFUSED]);
    const ui = renderScreen(<Manager onBack={() => {}} />, backend);
    await openTab(ui);
    await screen.findByText(REFUSED.summary);
    expect(screen.queryByText("Record again now")).toBeNull();
    expect(screen.queryByText("Can be recorded again now")).toBeNull();
  });
});
