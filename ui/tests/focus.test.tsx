// Regression (demo): after a stray click the scan field never got the focus back, and what
// was typed then disappeared silently.

import { fireEvent, screen } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { replayTyping } from "../src/scanner/keyboard";
import { Receive } from "../src/screens/Receive";
import { fakeBackend, fakeResolve, GLUE, renderScreen } from "./fake";

describe("focus", () => {
  it("returns to the scan field after a click that is not on another field", async () => {
    renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve() }));
    const field = await screen.findByLabelText("Scan or type a code");
    expect(document.activeElement).toBe(field);
    (document.activeElement as HTMLElement).blur();
    fireEvent.click(document.querySelector(".prompt")!);
    expect(document.activeElement, "a stray click on the prompt").toBe(field);
    const button = screen.getByTestId("action-Escape");
    button.focus();
    fireEvent.click(document.body);
    expect(document.activeElement, "a click on empty space").toBe(field);
  });

  it("leaves the focus on another field that was clicked", async () => {
    // A lot-tracked item whose barcode carried lot and expiry: the quantity step shows both.
    const gs1 = { kind: "item" as const, item: GLUE, lot: "L1", expiry: "2027-01-31", packSize: 1 };
    const ui = renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve({ GS1: gs1 }) }));
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("GS1");
    const lot = await screen.findByLabelText("Lot");
    lot.focus();
    fireEvent.click(lot);
    expect(document.activeElement).toBe(lot);
  });

  it("puts typed keys into the scan field when nothing that takes text had the focus", async () => {
    renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve() }));
    const field = (await screen.findByLabelText("Scan or type a code")) as HTMLInputElement;
    field.blur();
    expect(document.activeElement).toBe(document.body);
    replayTyping(document, "A-01");
    expect(field.value, "typed text is not lost").toBe("A-01");
    expect(document.activeElement).toBe(field);
  });
});
