// Scanner settings used until the backend's are loaded, or when it has none (no profile yet).

import type { ScannerSettings } from "../contract";
import { USB_PRESET } from "./wedge";

export const DEFAULT_SCANNER_SETTINGS: ScannerSettings = {
  ...USB_PRESET,
  prefix: "",
  suffix: "",
  terminator: "enter",
  // The stand-ins the Rust scan parser knows by default (aisle-core ScanConfig).
  gsSubstitutes: ["<GS>", "{GS}", "^]", "~"],
};
