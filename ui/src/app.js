// Entry point of the Aisle UI: wires the real backend into the screens.

import { createBackend, tauriInvoke } from "./backend.js";
import { loadStatusLine } from "./status.js";

const backend = createBackend(tauriInvoke());

async function showStatus() {
  const element = document.getElementById("status");
  const line = await loadStatusLine(backend);
  element.textContent = line.text;
  element.dataset.tone = line.tone;
}

showStatus();
