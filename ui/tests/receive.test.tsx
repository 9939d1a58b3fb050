// The receive screen with a fake backend: a GS1 scan fills lot, expiry and count.

import { screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { Receive } from "../src/screens/Receive";
import { CommandError } from "../src/backend";
import { BOLT, fakeBackend, fakeResolve, renderScreen } from "./fake";

const GS1 = "0104006381333931~10LOT42~17261231~3712";

describe("Receive", () => {
  it("fills lot, expiry and quantity from a GS1 scan and receives them", async () => {
    const receive = vi.fn(async () => ({ eventId: "e1", onHand: 36, notices: ["claim note"] }));
    const ui = renderScreen(
      <Receive onBack={() => {}} />,
      fakeBackend({
        resolveScan: fakeResolve({ [GS1]: { kind: "item", item: BOLT, lot: "LOT42", expiry: "2026-12-31", quantity: 12, packSize: 1 } }),
        receive,
      }),
    );
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan(GS1);
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    expect(qty.value).toBe("12");
    expect((screen.getByLabelText("Lot") as HTMLInputElement).value).toBe("LOT42");
    expect((screen.getByLabelText("Expiry") as HTMLInputElement).value).toBe("2026-12-31");
    expect(document.activeElement, "the quantity field has the focus").toBe(qty);
    ui.key("Enter");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("Received 12 × BOLT-M6 at A-01-01. On hand: 36.");
    expect(screen.getByText("claim note")).toBeTruthy();
    expect(receive).toHaveBeenCalledWith({ location: "loc-a", item: "item-bolt", lot: "LOT42", expiry: "2026-12-31", qty: 12 });
    expect(ui.sounds.at(-1)).toBe("success");
    expect(await screen.findByText("Scan the item."), "the location stays for the next item").toBeTruthy();
  });

  it("receives against an expected delivery chosen from the list and shows what is still to come", async () => {
    const line = (received: number) => ({ line: 1, item: BOLT, expected: 10, received, difference: received - 10 });
    const delivery = (received: number) => ({ reference: "ASN-7", supplier: "Bolt & Co", lines: [line(received)], unexpected: [] });
    const receive = vi.fn(async () => ({ eventId: "e1", onHand: 6, notices: [] }));
    const expectedReceipt = vi.fn(async () => delivery(6));
    const ui = renderScreen(
      <Receive onBack={() => {}} />,
      fakeBackend({
        resolveScan: fakeResolve(),
        receive,
        expectedReceipts: async () => [delivery(0)],
        expectedReceipt,
      }),
    );
    ui.key("F2");
    await screen.findByText("ASN-7 · Bolt & Co · 1 lines");
    ui.key("1");
    await screen.findByText("Receiving against ASN-7.");
    expect(screen.getByText("BOLT-M6 Bolt M6: 0 of 10 · 10 to come")).toBeTruthy();
    ui.scan("L:A-01-01");
    await screen.findByText("Scan the item.");
    ui.scan("S:BOLT-M6");
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    qty.value = "6";
    qty.dispatchEvent(new Event("input", { bubbles: true }));
    ui.key("Enter");
    await screen.findByText("Press Enter to receive.");
    ui.key("Enter");
    await screen.findByText("BOLT-M6 Bolt M6: 6 of 10 · 4 to come");
    expect(receive).toHaveBeenCalledWith({ location: "loc-a", item: "item-bolt", lot: undefined, expiry: undefined, qty: 6, receipt: "ASN-7" });
    expect(expectedReceipt).toHaveBeenCalledWith("ASN-7");
  });

  it("finds the expected delivery by the reference scanned from its note, and refuses an unknown one", async () => {
    const ui = renderScreen(
      <Receive onBack={() => {}} />,
      fakeBackend({
        resolveScan: fakeResolve(),
        expectedReceipts: async () => [],
        expectedReceipt: async (reference: string) => {
          if (reference === "ASN-9") return { reference, supplier: "Nuts Inc", lines: [], unexpected: [] };
          throw new CommandError("not_found", `an expected delivery ${reference} was not found`);
        },
      }),
    );
    ui.key("F2");
    await screen.findByText("No deliveries are expected.");
    ui.scan("ASN-404");
    await screen.findByText("an expected delivery ASN-404 was not found");
    ui.scan("ASN-9");
    await screen.findByText("Receiving against ASN-9.");
    expect(screen.getByText("ASN-9 · Nuts Inc"), "the delivery is among the facts").toBeTruthy();
  });

  it("refuses an item before a location, and says an unknown barcode by its code", async () => {
    const ui = renderScreen(<Receive onBack={() => {}} />, fakeBackend({ resolveScan: fakeResolve() }));
    ui.scan("S:BOLT-M6");
    await screen.findByText("That is not a location. Scan a location label.");
    ui.scan("9999");
    await screen.findByText("Unknown barcode.");
    expect(screen.getByText("no item has the barcode 9999")).toBeTruthy();
    expect(ui.sounds).toEqual(["error", "error"]);
  });
});
