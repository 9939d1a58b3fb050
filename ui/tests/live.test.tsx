// Live sync on the floor screens: when the engine reports pulled events (`pulledNew` moves
// in the `sync-status` event), the pick lists, the count list and a shown look-up are read
// again, so another PC's claim or a manager's count request shows without leaving the screen.

import { act, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import type { Backend } from "../src/backend";
import type { CountTask, Discrepancy, LookupAnswer, PickListSummary, SyncStatus, Variance } from "../src/contract";
import { Count } from "../src/screens/Count";
import { Lookup } from "../src/screens/Lookup";
import { Pick } from "../src/screens/Pick";
import { Manager } from "../src/screens/Manager";
import { Discrepancies } from "../src/screens/manager/Inbox";
import { BOLT, fakeBackend, LOC_A, LOC_B, OFFLINE, renderScreen } from "./fake";

/** A `sync-status` channel the test pushes on, as src-tauri/main.rs emits it. */
function statusChannel(): { onSyncStatus: Backend["onSyncStatus"]; syncStatus: Backend["syncStatus"]; push: (status: SyncStatus) => void } {
  const handlers = new Set<(status: SyncStatus) => void>();
  return {
    onSyncStatus: (handler) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    syncStatus: async () => ({ ...OFFLINE, online: true, live: true, pulledNew: 4 }),
    push: (status) => act(() => handlers.forEach((handler) => handler(status))),
  };
}

const pulled = (pulledNew: number): SyncStatus => ({ ...OFFLINE, online: true, live: true, pulledNew });

/** Lets the screen's first reads and the status read at mount answer. */
const settle = () => act(async () => await new Promise((resolve) => setTimeout(resolve, 0)));

describe("Live sync on the floor", () => {
  it("shows a claim made on another PC on the pick list screen, naming the user and the PC", async () => {
    const channel = statusChannel();
    let answer: PickListSummary[] = [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }];
    const pickLists = vi.fn(async () => answer);
    renderScreen(<Pick onBack={() => {}} />, fakeBackend({ ...channel, pickLists }));
    await screen.findByText("PL-1001 · 0/2 lines");
    await settle();
    const n_reads = pickLists.mock.calls.length;

    channel.push({ ...pulled(4), pending: 1 });
    await settle();
    expect(pickLists.mock.calls.length, "a status that pulled nothing new reads nothing again").toBe(n_reads);

    answer = [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0, claimedBy: "Pia", claimedOn: "dock-2" }];
    channel.push(pulled(5));
    await screen.findByText("PL-1001 · 0/2 lines · Claimed by Pia on PC dock-2");
  });

  it("reads the pick lists again when master data changed the store (a new list from the ERP, a PC's name)", async () => {
    const channel = statusChannel();
    let answer: PickListSummary[] = [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }];
    const pickLists = vi.fn(async () => answer);
    renderScreen(<Pick onBack={() => {}} />, fakeBackend({ ...channel, pickLists }));
    await screen.findByText("PL-1001 · 0/2 lines");
    await settle();

    answer = [...answer, { id: "pl-2", reference: "PL-1002", nLines: 1, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }];
    channel.push({ ...pulled(4), masterChanged: 1 });
    await screen.findByText("PL-1002 · 0/1 lines");
  });

  it("says 'on this PC' for a claim made here, not this PC's own name", async () => {
    renderScreen(
      <Pick onBack={() => {}} />,
      fakeBackend({
        pickLists: async () => [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 1, claimedHere: true, cancelled: false, putBackDue: 0, claimedBy: "Pia", claimedOn: "Dock PC 1" }],
      }),
    );
    await screen.findByText("PL-1001 · 1/2 lines · Claimed by Pia on this PC");
    expect(screen.queryByText(/on PC Dock PC 1/)).toBeNull();
  });

  it("names only the user when the server has not named the PC yet", async () => {
    renderScreen(
      <Pick onBack={() => {}} />,
      fakeBackend({ pickLists: async () => [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 1, claimedHere: false, cancelled: false, putBackDue: 0, claimedBy: "Pia" }] }),
    );
    await screen.findByText("PL-1001 · 1/2 lines · Claimed by Pia");
  });

  it("tells the picker with the error sound when the list opened is someone else's", async () => {
    const ui = renderScreen(
      <Pick onBack={() => {}} />,
      fakeBackend({
        pickLists: async () => [{ id: "pl-1", reference: "PL-1001", nLines: 1, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0, claimedBy: "Pia", claimedOn: "dock-2" }],
        openPickList: async () => ({
          id: "pl-1",
          reference: "PL-1001",
          lines: [{ id: 1, location: LOC_A, item: BOLT, qty: 5, picked: 0, done: false }],
          notices: ["this pick list was already claimed by Pia on PC dock-2"],
          cancelled: false,
          putBacks: [],
        }),
      }),
    );
    await screen.findByText(/Claimed by Pia on PC dock-2/);
    ui.key("1");
    await screen.findByText("Pick list PL-1001 is someone else's");
    expect(screen.getByText("this pick list was already claimed by Pia on PC dock-2")).toBeTruthy();
    expect(ui.sounds.at(-1)).toBe("error");
  });

  it("adds a manager's count request to the count list as it lands", async () => {
    const channel = statusChannel();
    let tasks: CountTask[] = [];
    renderScreen(<Count onBack={() => {}} />, fakeBackend({ ...channel, countTasks: async () => tasks }));
    await settle();
    expect(screen.queryByText(/B-02-03 · BOLT-M6/)).toBeNull();
    tasks = [{ id: "task-9", location: LOC_B, item: BOLT, reason: "requested" }];
    channel.push(pulled(5));
    await screen.findByText(/B-02-03 · BOLT-M6/);
  });

  it("reads a shown look-up again with what was scanned", async () => {
    const channel = statusChannel();
    let onHand = 12;
    const lookup = vi.fn(
      async (): Promise<LookupAnswer> => ({
        resolved: { kind: "item", item: BOLT, packSize: 1 },
        rows: [{ location: LOC_A, item: BOLT, onHand }],
        history: [],
      }),
    );
    const ui = renderScreen(<Lookup onBack={() => {}} />, fakeBackend({ ...channel, lookup }));
    await settle();
    ui.scan("S:BOLT-M6");
    await screen.findByText("12");
    onHand = 7;
    channel.push(pulled(5));
    await screen.findByText("7");
    expect(lookup).toHaveBeenLastCalledWith("S:BOLT-M6");
  });

  it("adds a count from another PC that waits for review to the manager's variances as it lands", async () => {
    const channel = statusChannel();
    let variances: Variance[] = [];
    renderScreen(<Manager onBack={() => {}} />, fakeBackend({ ...channel, variances: async () => variances }));
    await settle();
    expect(document.querySelector("[data-testid=variances] tbody tr")).toBeNull();
    variances = [
      { countedEvent: "count-9", location: LOC_B, item: BOLT, countedQty: 2, expected: 9, variance: -7, user: "Bo", hlcMs: 1_700_000_000_000 },
    ];
    channel.push(pulled(5));
    await screen.findByText("Bo");
  });

  it("adds a discrepancy another PC's events opened to the manager's list as it lands", async () => {
    const channel = statusChannel();
    let rows: Discrepancy[] = [];
    renderScreen(<Discrepancies />, fakeBackend({ ...channel, discrepancies: async () => rows }));
    await settle();
    expect(screen.queryByText("line 2: picked 6 of 5")).toBeNull();
    rows = [{ id: "d1", kind: "over_pick", summary: "line 2: picked 6 of 5" }];
    channel.push(pulled(5));
    await screen.findByText("line 2: picked 6 of 5");
  });
});
