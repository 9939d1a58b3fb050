// The Code 128 encoder behind the test barcode.

import { describe, expect, it } from "vitest";

import { code128Values, code128Widths } from "../src/scanner/code128";
import { TEST_BARCODE } from "../src/scanner/layout";

describe("code128", () => {
  it("encodes the classic example with start B, data, checksum and stop", () => {
    // 104 + 48·1 + 42·2 + 42·3 + 17·4 + 18·5 + 19·6 + 35·7 = 879, and 879 mod 103 = 55.
    expect(code128Values("PJJ123C")).toEqual([104, 48, 42, 42, 17, 18, 19, 35, 55, 106]);
  });

  it("makes every symbol 11 modules wide and the stop 13", () => {
    const widths = code128Widths(TEST_BARCODE);
    const symbols = code128Values(TEST_BARCODE).length;
    const total = widths.reduce((sum, width) => sum + width, 0);
    expect(total).toBe((symbols - 1) * 11 + 13);
    expect(widths.length % 2, "bars and spaces alternate, beginning and ending with a bar").toBe(1);
  });

  it("refuses characters code set B cannot hold", () => {
    expect(() => code128Values("é")).toThrow(RangeError);
  });
});
