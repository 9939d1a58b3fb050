// Keyboard-layout mismatch detection for the scanner setup page.
//
// A wedge scanner sends key positions, not characters, assuming a layout (US unless set up
// otherwise); the computer turns positions into characters with its own layout. If the two
// differ, `Y` arrives as `Z` (German QWERTZ) or `1` as `&` (French AZERTY). The test barcode
// holds characters whose keys differ between US, QWERTZ and AZERTY, so what arrives tells
// which layout the computer uses while the scanner types US.

export type LayoutVerdict = "match" | "qwertz" | "azerty" | "us" | "caps_lock" | "unknown";

/** What the scanner means (US key positions), printed under the test barcode. */
export const TEST_BARCODE = "Yz1Qam2W";

// Characters the US key at the same position gives on each layout (unshifted and shifted
// pairs both listed); characters not listed are the same on both.
const QWERTZ_FROM_US: Record<string, string> = {
  y: "z", z: "y", Y: "Z", Z: "Y",
  "-": "ß", "/": "-", ";": "ö", "'": "ä", "[": "ü",
  "@": "\"", "#": "§", "^": "&", "&": "/", "*": "(", "(": ")", ")": "=", "_": "?",
};

const AZERTY_FROM_US: Record<string, string> = {
  a: "q", q: "a", z: "w", w: "z", A: "Q", Q: "A", Z: "W", W: "Z",
  m: ",", M: "?", ";": "m", ":": "M",
  "1": "&", "2": "é", "3": "\"", "4": "'", "5": "(", "6": "-", "7": "è", "8": "_", "9": "ç", "0": "à",
  "!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6", "&": "7", "*": "8", "(": "9", ")": "0",
};

function through(table: Record<string, string>, text: string): string {
  return [...text].map((character) => table[character] ?? character).join("");
}

function invert(table: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(table).map(([us, other]) => [other, us]));
}

function swapCase(text: string): string {
  return [...text]
    .map((character) => (character === character.toUpperCase() ? character.toLowerCase() : character.toUpperCase()))
    .join("");
}

/** What `printed` arrives as when a US scanner types on the given computer layout. */
export function typedOn(layout: "qwertz" | "azerty", printed: string): string {
  return through(layout === "qwertz" ? QWERTZ_FROM_US : AZERTY_FROM_US, printed);
}

/**
 * Compares what arrived with what is printed. `qwertz`/`azerty`: the scanner types US but the
 * computer uses that layout. `us`: the other way round, the scanner is set to QWERTZ or AZERTY
 * while the computer is US. `caps_lock`: the letters came with their case swapped.
 */
export function detectLayout(printed: string, received: string): LayoutVerdict {
  if (received === printed) return "match";
  if (received === typedOn("qwertz", printed)) return "qwertz";
  if (received === typedOn("azerty", printed)) return "azerty";
  if (received === through(invert(QWERTZ_FROM_US), printed) || received === through(invert(AZERTY_FROM_US), printed)) {
    return "us";
  }
  if (received === swapCase(printed)) return "caps_lock";
  return "unknown";
}
