// Entry point: the real backend, sounds, scan bus and key stack, rendered into #app.

// First, before anything that formats numbers or dates loads.
import "./locale-guard";

import { render } from "preact";

import { App } from "./App";
import { tauriBackend } from "./backend";
import { createKeyStack } from "./keys";
import { createScanBus } from "./scanner/bus";
import { webAudioSounds } from "./sound";
import "./style.css";

const root = document.getElementById("app");
if (root !== null) {
  render(
    <App env={{ backend: tauriBackend(), sounds: webAudioSounds(), scans: createScanBus(), keys: createKeyStack() }} />,
    root,
  );
}
