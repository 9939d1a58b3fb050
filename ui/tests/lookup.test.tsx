// Look up, and a manager's request for a count from it, which the Count screen lists with
// who asked and the note.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import type { LookupAnswer } from "../src/contract";
import { Count } from "../src/screens/Count";
import { Lookup } from "../src/screens/Lookup";
import { BOLT, fakeBackend, LOC_A, LOC_B, renderScreen } from "./fake";

const ANSWER: LookupAnswer = {
  resolved: { kind: "item", item: BOLT, packSize: 1 },
  rows: [
    { location: LOC_A, item: BOLT, onHand: 12 },
    { location: LOC_B, item: BOLT, lot: "L7", onHand: 3 },
  ],
  history: [],
};

const RECORDED = { eventId: "e-1", onHand: 3, notices: [] };

describe("Lookup", () => {
  it("lets a manager request a count of a row with the keyboard alone, with a note", async () => {
    const requestCount = vi.fn(async () => RECORDED);
    const ui = renderScreen(<Lookup role="manager" onBack={() => {}} />, fakeBackend({ lookup: async () => ANSWER, requestCount }));
    ui.scan("S:BOLT-M6");
    await screen.findByText("B-02-03");
    expect(screen.getAllByText("Request count").length, "a header and one button per row").toBe(3);
    ui.key("F3");
    await screen.findByText("Request a count of BOLT-M6 lot L7 at B-02-03.");
    const note = screen.getByLabelText("Note for the person counting (optional)") as HTMLInputElement;
    expect(document.activeElement, "the note field has the focus").toBe(note);
    note.value = "  pallet looks light  ";
    ui.key("Enter");
    await screen.findByText("Count requested: BOLT-M6 at B-02-03.");
    expect(requestCount).toHaveBeenCalledWith({ location: "loc-b", item: "item-bolt", lot: "L7", note: "pallet looks light" });
    expect(ui.sounds).toContain("success");
    expect(screen.getByLabelText("Scan or type a code"), "back to scanning").toBeTruthy();
  });

  it("requests by the row's button too, and Escape cancels without a request", async () => {
    const requestCount = vi.fn(async () => RECORDED);
    const ui = renderScreen(<Lookup role="manager" onBack={() => {}} />, fakeBackend({ lookup: async () => ANSWER, requestCount }));
    ui.scan("S:BOLT-M6");
    await screen.findByText("A-01-01");
    fireEvent.click(screen.getByTestId("request-count-0"));
    await screen.findByText("Request a count of BOLT-M6 at A-01-01.");
    ui.key("Escape");
    await screen.findByText("A-01-01");
    expect(requestCount).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("request-count-0"));
    await screen.findByText("Request a count of BOLT-M6 at A-01-01.");
    ui.key("F2");
    await screen.findByText("Count requested: BOLT-M6 at A-01-01.");
    expect(requestCount).toHaveBeenCalledWith({ location: "loc-a", item: "item-bolt", lot: undefined, note: "" });
  });

  it("shows the backend's refusal and stays on the note", async () => {
    const { CommandError } = await import("../src/backend");
    const requestCount = vi.fn(async () => Promise.reject(new CommandError("bad_note", "a note can be at most 200 characters")));
    const ui = renderScreen(<Lookup role="manager" onBack={() => {}} />, fakeBackend({ lookup: async () => ANSWER, requestCount }));
    ui.scan("S:BOLT-M6");
    await screen.findByText("A-01-01");
    ui.key("F2");
    await screen.findByText("Request a count of BOLT-M6 at A-01-01.");
    ui.key("Enter");
    await screen.findByText("That note is too long or has characters it cannot hold.");
    expect(ui.sounds).toContain("error");
    expect(screen.getByLabelText("Note for the person counting (optional)")).toBeTruthy();
  });

  it("offers no request to a picker", async () => {
    const ui = renderScreen(<Lookup role="picker" onBack={() => {}} />, fakeBackend({ lookup: async () => ANSWER }));
    ui.scan("S:BOLT-M6");
    await screen.findByText("A-01-01");
    expect(screen.queryByText("Request count"), "pickers cannot request counts").toBeNull();
    ui.key("F2");
    expect(screen.queryByText("Request a count of BOLT-M6 at A-01-01.")).toBeNull();
  });
});

describe("Count tasks", () => {
  it("list a manager's request with who asked and the note", async () => {
    renderScreen(
      <Count onBack={() => {}} />,
      fakeBackend({
        countTasks: async () => [
          { id: "t-1", location: LOC_A, item: BOLT, reason: "requested", requestedBy: "Maria", note: "pallet looks light" },
          { id: "t-2", location: LOC_B, item: BOLT, reason: "requested", requestedBy: "Maria", note: "" },
          { id: "t-3", location: LOC_B, item: BOLT, reason: "short_pick" },
        ],
      }),
    );
    await screen.findByText("A-01-01 · BOLT-M6 · Requested by Maria: pallet looks light");
    expect(screen.getByText("B-02-03 · BOLT-M6 · Requested by Maria")).toBeTruthy();
    expect(screen.getByText("B-02-03 · BOLT-M6 · Short pick"), "other reasons are in words too").toBeTruthy();
  });
});
