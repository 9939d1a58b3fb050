// Keyboard-layout mismatch detection on the scanner setup page.

import { describe, expect, it } from "vitest";

import { detectLayout, TEST_BARCODE, typedOn } from "../src/scanner/layout";

describe("detectLayout", () => {
  it("matches when what arrived is what is printed", () => {
    expect(detectLayout(TEST_BARCODE, TEST_BARCODE)).toBe("match");
  });

  it("recognises a US scanner on a German QWERTZ computer (Y and Z swapped)", () => {
    expect(typedOn("qwertz", TEST_BARCODE)).toBe("Zy1Qam2W");
    expect(detectLayout(TEST_BARCODE, "Zy1Qam2W")).toBe("qwertz");
  });

  it("recognises a US scanner on a French AZERTY computer (A/Q, Z/W, M and the digits)", () => {
    expect(typedOn("azerty", TEST_BARCODE)).toBe("Yw&Aq,éZ");
    expect(detectLayout(TEST_BARCODE, "Yw&Aq,éZ")).toBe("azerty");
  });

  it("recognises a scanner set to AZERTY on a US computer", () => {
    // The scanner presses the AZERTY positions: "1" is Shift+& there, which a US layout reads as "!".
    expect(detectLayout(TEST_BARCODE, "Yw!Aq;@Z")).toBe("us");
  });

  it("recognises Caps Lock", () => {
    expect(detectLayout(TEST_BARCODE, "yZ1qAM2w")).toBe("caps_lock");
  });

  it("says unknown for some other barcode", () => {
    expect(detectLayout(TEST_BARCODE, "4006381333931")).toBe("unknown");
  });

  it("uses a test barcode whose three layouts all read differently", () => {
    const readings = new Set([TEST_BARCODE, typedOn("qwertz", TEST_BARCODE), typedOn("azerty", TEST_BARCODE)]);
    expect(readings.size, "each layout must give a distinct reading to be told apart").toBe(3);
  });
});
