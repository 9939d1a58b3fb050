// A fake backend and a render helper, so screen tests drive real screens without Tauri.

import { cleanup, render } from "@testing-library/preact";
import type { ComponentChildren } from "preact";
import { afterEach } from "vitest";

import { CommandError, type Backend } from "../src/backend";
import type { Item, Location, SyncStatus } from "../src/contract";
import { EnvContext, type Env } from "../src/env";
import { createKeyStack } from "../src/keys";
import { createScanBus } from "../src/scanner/bus";

export const LOC_A: Location = { id: "loc-a", code: "A-01-01", name: "Aisle A bay 1", walkOrder: 10 };
export const LOC_B: Location = { id: "loc-b", code: "B-02-03", name: "Aisle B bay 2", walkOrder: 20 };
export const BOLT: Item = { id: "item-bolt", sku: "BOLT-M6", name: "Bolt M6", baseUnit: "pcs" };
export const NUT: Item = { id: "item-nut", sku: "NUT-M6", name: "Nut M6", baseUnit: "pcs" };

export const OFFLINE: SyncStatus = { online: false, pending: 3, quarantined: 0 };

/** A backend whose every command fails with `not_found` unless the test gives it. */
export function fakeBackend(overrides: Partial<Backend> = {}): Backend {
  const missing = (name: string) => () => Promise.reject(new CommandError("not_found", `fake backend has no ${name}`));
  const base = new Proxy({} as Record<string, unknown>, {
    get: (_target, name: string) => missing(name),
  }) as unknown as Backend;
  return {
    ...Object.fromEntries(
      (
        [
          "appStatus", "listProfiles", "enroll", "startDemo", "switchProfile", "signIn", "signOut", "session", "setIdleTimeout", "resolveScan",
          "receive", "moveStock", "count", "pickLine", "shortPick", "pickLists", "openPickList", "countTasks", "lookup",
          "variances", "reviewCount", "requestCount", "discrepancies", "quarantined", "history", "stockSeries", "syncStatus", "syncNow",
          "scannerSettings", "saveScannerSettings", "serialPorts",
        ] as const
      ).map((name) => [name, base[name]]),
    ),
    onSyncStatus: () => () => {},
    onScan: () => () => {},
    ...overrides,
  } as Backend;
}

/** Resolves the fake barcodes the tests use: L:<code> locations, S:<sku> items, U:<n> badges. */
export function fakeResolve(extra: Record<string, Awaited<ReturnType<Backend["resolveScan"]>>> = {}): Backend["resolveScan"] {
  return async (raw) => {
    if (raw in extra) return extra[raw]!;
    const location = [LOC_A, LOC_B].find((each) => `L:${each.code}` === raw);
    if (location !== undefined) return { kind: "location", location };
    const item = [BOLT, NUT].find((each) => `S:${each.sku}` === raw);
    if (item !== undefined) return { kind: "item", item, packSize: 1 };
    if (raw.startsWith("U:")) return { kind: "badge", badge: raw.slice(2) };
    throw new CommandError("unknown_barcode", `no item has the barcode ${raw}`);
  };
}

export interface Rendered {
  env: Env;
  sounds: string[];
  scan(raw: string): void;
  key(key: string): void;
}

let removeKeyListener: () => void = () => {};
afterEach(() => {
  cleanup();
  removeKeyListener();
});

/** An env over `backend` whose sounds are written down in `sounds`. */
export function makeEnv(backend: Backend): { env: Env; sounds: string[] } {
  const sounds: string[] = [];
  const env: Env = {
    backend,
    sounds: { success: () => sounds.push("success"), error: () => sounds.push("error") },
    scans: createScanBus(),
    keys: createKeyStack(),
  };
  return { env, sounds };
}

/** Presses `key` on the focused element. */
export function pressKey(key: string): void {
  (document.activeElement ?? document.body).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
}

/** Renders a screen with `backend`; keys go through the key stack as in the app. */
export function renderScreen(ui: ComponentChildren, backend: Backend): Rendered {
  const { env, sounds } = makeEnv(backend);
  const onKey = (event: KeyboardEvent) => env.keys.dispatch(event);
  window.addEventListener("keydown", onKey);
  removeKeyListener = () => window.removeEventListener("keydown", onKey);
  render(<EnvContext.Provider value={env}>{ui}</EnvContext.Provider>);
  return {
    env,
    sounds,
    scan: (raw) => env.scans.publish(raw),
    key: pressKey,
  };
}
