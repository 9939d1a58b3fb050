// The one text table: placeholders, and every key the code builds at run time exists.
// Also checks that screens put no words into JSX outside the table.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { ERROR_CODES } from "../src/contract";
import { EVENT_KINDS, SHORT_PICK_REASONS, UI_ERROR_CODES } from "../src/contract-extra";
import { hasMessage, t } from "../src/i18n";
import { MENU } from "../src/screens/Home";
import { eventKindLabel } from "../src/screens/Lookup";
import { TABS } from "../src/screens/Manager";

function sources(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

const SOURCE_DIR = join(__dirname, "..", "src");

describe("i18n", () => {
  it("fills placeholders and leaves unknown ones visible", () => {
    expect(t("badge.pending", { n: 3 })).toBe("3 pending");
    expect(t("pick.expected", {})).toBe("Expected: {expected}");
  });

  it("has a sentence for every error code", () => {
    for (const code of [...ERROR_CODES, ...UI_ERROR_CODES]) expect(hasMessage(`error.${code}`), code).toBe(true);
  });

  it("has keys for every key built at run time", () => {
    const built = [
      ...MENU.flatMap((entry) => [`menu.${entry}`, `screen.${entry}`]),
      ...TABS.map((tab) => `manager.${tab}`),
      ...SHORT_PICK_REASONS.map((reason) => `shortReason.${reason}`),
      ...EVENT_KINDS.map((kind) => `eventKind.${kind}`),
      ...["not_a_location", "wrong_location", "not_an_item", "wrong_item"].map((reason) => `pick.${reason}`),
      ...["match", "qwertz", "azerty", "us", "caps_lock", "unknown"].map((verdict) => `scanner.layout.${verdict}`),
      ...["enter", "tab", "none"].map((terminator) => `scanner.terminator.${terminator}`),
      "screen.home",
      "screen.profiles",
    ];
    for (const key of built) expect(hasMessage(key), key).toBe(true);
  });

  it("labels the history's event kinds, and shows a kind it does not know as sent", () => {
    expect(eventKindLabel("resolved")).toBe("Automatic decision");
    expect(eventKindLabel("pick_list_claimed")).toBe("Pick list claimed");
    expect(eventKindLabel("teleported")).toBe("teleported");
  });

  it("every literal key passed to t() exists", () => {
    const used = sources(SOURCE_DIR).flatMap((path) => [...readFileSync(path, "utf8").matchAll(/\bt\("([^"]+)"/g)].map((match) => match[1] ?? ""));
    expect(used.length).toBeGreaterThan(100);
    for (const key of used) expect(hasMessage(key), key).toBe(true);
  });

  it("no JSX text outside the table: words in markup come from t()", () => {
    for (const path of sources(SOURCE_DIR).filter((each) => each.endsWith(".tsx"))) {
      const text = readFileSync(path, "utf8");
      // Text between the ">" that ends a tag and the next "<" or "{", holding two letters in a row.
      const literals = [...text.matchAll(/<\/?[a-z][\w.-]*(?:\s[^<>]*)?>\s*([^<>{}\n]*[A-Za-z]{2,}[^<>{}\n]*)\s*</g)]
        .map((match) => (match[1] ?? "").trim())
        .filter((literal) => literal !== "" && !/[=;()&|]/.test(literal));
      expect(literals, path).toEqual([]);
    }
  });
});
