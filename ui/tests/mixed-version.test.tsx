// Mixed-version fleets: stock that an event this version cannot read touches is marked on
// look-up, in the count task list and on a count, and such a count goes to a manager at
// once instead of asking the picker to count again.

import { screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import type { CountRecorded, LookupAnswer } from "../src/contract";
import { Count } from "../src/screens/Count";
import { Lookup } from "../src/screens/Lookup";
import { SyncPanel } from "../src/screens/SyncPanel";
import { BOLT, fakeBackend, fakeResolve, LOC_A, LOC_B, renderScreen } from "./fake";

const MARK = "Stock here needs Aisle 0.2.0 to show exactly";

describe("Stock that needs an update to show exactly", () => {
  it("is marked on its look-up row and nowhere else", async () => {
    const answer: LookupAnswer = {
      resolved: { kind: "item", item: BOLT, packSize: 1 },
      rows: [
        { location: LOC_A, item: BOLT, onHand: 12, needsUpdate: "0.2.0" },
        { location: LOC_B, item: BOLT, lot: "L7", onHand: 3 },
      ],
      history: [],
    };
    const ui = renderScreen(<Lookup role="picker" onBack={() => {}} />, fakeBackend({ lookup: async () => answer }));
    ui.scan("S:BOLT-M6");
    const mark = await screen.findByText(MARK);
    const row = mark.closest("tr")?.previousElementSibling;
    expect(row?.textContent, "under the row it is about").toContain("A-01-01");
    expect(screen.getAllByText(MARK)).toHaveLength(1);
  });

  it("is marked on its count task, and its count goes to a manager without a recount", async () => {
    const recorded: CountRecorded = {
      eventId: "e",
      onHand: 7,
      notices: [],
      decision: "needs_review",
      expected: 7,
      variance: 0,
      needsUpdate: "0.2.0",
    };
    const count = vi.fn(async () => recorded);
    const ui = renderScreen(
      <Count onBack={() => {}} />,
      fakeBackend({
        countTasks: async () => [{ id: "task-1", location: LOC_A, item: BOLT, reason: "short pick", needsUpdate: "0.2.0" }],
        resolveScan: fakeResolve(),
        count,
      }),
    );
    await screen.findByText(`A-01-01 · BOLT-M6 · short pick · ${MARK}`);
    ui.key("1");
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Counted quantity")) as HTMLInputElement;
    qty.value = "7";
    ui.key("Enter");
    await screen.findByText(`Count recorded and sent to a manager for review. · ${MARK}`);
    expect(count, "no second count: counting again would not help").toHaveBeenCalledTimes(1);
  });

  it("is explained on the sync panel, which names the version that reads everything", async () => {
    const status = { online: true, pending: 0, quarantined: 0, live: true, pulledNew: 0, masterChanged: 0 };
    const marked = { ...status, needsUpdate: "0.2.0" };
    renderScreen(<SyncPanel status={marked} onBack={() => {}} />, fakeBackend({ syncStatus: async () => marked }));
    await screen.findByText("Aisle 0.2.0 is needed to read everything the server sends; stock it touches is marked until then");
  });

  it("is not mentioned on the sync panel when the PC reads everything", async () => {
    const status = { online: true, pending: 0, quarantined: 0, live: true, pulledNew: 0, masterChanged: 0 };
    renderScreen(<SyncPanel status={status} onBack={() => {}} />, fakeBackend({ syncStatus: async () => status }));
    await screen.findByText("Online");
    expect(document.body.textContent).not.toContain("is needed to read");
  });
});
