// A fake backend and a render helper, so screen tests drive real screens without Tauri.

import { cleanup, render } from "@testing-library/preact";
import type { ComponentChildren } from "preact";
import { afterEach } from "vitest";

import { CommandError, type Backend } from "../src/backend";
import type { Item, Location, LotStockView, MoveArgs, Recorded, SyncStatus } from "../src/contract";
import { EnvContext, type Env } from "../src/env";
import { createKeyStack } from "../src/keys";
import { createScanBus } from "../src/scanner/bus";

export const LOC_A: Location = { id: "loc-a", code: "A-01-01", name: "Aisle A bay 1", walkOrder: 10 };
export const LOC_B: Location = { id: "loc-b", code: "B-02-03", name: "Aisle B bay 2", walkOrder: 20 };
export const BOLT: Item = { id: "item-bolt", sku: "BOLT-M6", name: "Bolt M6", baseUnit: "pcs", lotTracked: false };
export const NUT: Item = { id: "item-nut", sku: "NUT-M6", name: "Nut M6", baseUnit: "pcs", lotTracked: false };
/** A lot-tracked item: every action on it names its lot. */
export const GLUE: Item = { id: "item-glue", sku: "GLUE-1", name: "Glue 1 kg", baseUnit: "pcs", lotTracked: true };


export const OFFLINE: SyncStatus = { online: false, pending: 3, quarantined: 0, live: false, pulledNew: 0, masterChanged: 0 };

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
          "stockAt", "variances", "reviewCount", "requestCount", "discrepancies", "quarantined", "recordAgain", "history", "stockSeries", "syncStatus", "syncNow",
          "scannerSettings", "saveScannerSettings", "serialPorts", "updateStatus", "checkUpdate", "downloadUpdate", "installUpdate",
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
    const item = [BOLT, NUT, GLUE].find((each) => `S:${each.sku}` === raw);
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

/** One stock key's on-hand in a `FakeFloor`: what `stock_at` answers, with its location. */
export interface StockRow {
  location: string;
  item: string;
  lot?: string;
  onHand: number;
}

export interface FakeFloor {
  /** The floor commands, keeping the stock rules of crates/aisle-app/src/floor.rs. */
  backend: Pick<Backend, "stockAt" | "receive" | "moveStock" | "count" | "pickLine" | "shortPick">;
  /** The stock now, rows at zero included. */
  stock: StockRow[];
  /** Every command that reached the fake, with its arguments, refused ones included. */
  calls: Array<[string, unknown]>;
}

/**
 * A fake floor that keeps stock and refuses what the Rust side refuses: an action on a
 * lot-tracked item without a lot (`lot_required`, listing the lots the location holds), a
 * move whose source is its target (`same_location`) and a move of more than the source holds
 * (`move_exceeds_source`) unless `confirmOverSource`. Pick lines are `line -> {location, item,
 * lot?}` for `pick_line` and `short_pick`.
 */
export function fakeFloor(
  stock: StockRow[] = [],
  lines: Record<string, { location: string; item: string; lot?: string }> = {},
): FakeFloor {
  const rows = stock.map((row) => ({ ...row }));
  const calls: Array<[string, unknown]> = [];
  const items = [BOLT, NUT, GLUE];
  const locations = [LOC_A, LOC_B];
  let nEvents = 0;

  const codeOf = (location: string) => locations.find((each) => each.id === location)?.code ?? location;
  const row = (location: string, item: string, lot: string | undefined): StockRow => {
    const key = lot === "" ? undefined : lot;
    let found = rows.find((each) => each.location === location && each.item === item && each.lot === key);
    if (found === undefined) {
      found = { location, item, lot: key, onHand: 0 };
      rows.push(found);
    }
    return found;
  };
  const stockAt = (location: string, item: string): LotStockView[] =>
    rows
      .filter((each) => each.location === location && each.item === item && each.onHand !== 0)
      .map((each) => ({ lot: each.lot ?? null, onHand: each.onHand }))
      .sort((a, b) => (a.lot ?? "").localeCompare(b.lot ?? ""));
  const requireLot = (location: string, item: string, lot: string | undefined): void => {
    const known = items.find((each) => each.id === item);
    if (known === undefined || !known.lotTracked || (lot !== undefined && lot !== "")) return;
    const held = stockAt(location, item).filter((each) => each.lot !== null).map((each) => `${each.lot}: ${each.onHand}`);
    throw new CommandError("lot_required", `${known.sku} is lot-tracked: scan or type its lot${held.length === 0 ? "" : ` (here: ${held.join(", ")})`}`);
  };
  const recorded = (onHand: number): Recorded => {
    nEvents += 1;
    return { eventId: `fake-event-${nEvents}`, onHand, notices: [] };
  };
  const line = (id: number) => {
    const found = lines[id];
    if (found === undefined) throw new CommandError("not_found", `pick line ${id} was not found`);
    return found;
  };

  return {
    stock: rows,
    calls,
    backend: {
      stockAt: async (location, item) => {
        calls.push(["stockAt", { location, item }]);
        return stockAt(location, item);
      },
      receive: async (args) => {
        calls.push(["receive", args]);
        requireLot(args.location, args.item, args.lot);
        const key = row(args.location, args.item, args.lot);
        key.onHand += args.qty;
        return recorded(key.onHand);
      },
      moveStock: async (args: MoveArgs) => {
        calls.push(["moveStock", args]);
        if (args.from === args.to) {
          throw new CommandError("same_location", `a move needs two different locations: ${codeOf(args.from)} is both the source and the target`);
        }
        requireLot(args.from, args.item, args.lot);
        const source = row(args.from, args.item, args.lot);
        if (args.qty > source.onHand && args.confirmOverSource !== true) {
          throw new CommandError("move_exceeds_source", `${codeOf(args.from)} holds ${source.onHand}. Move ${args.qty} anyway?`);
        }
        source.onHand -= args.qty;
        row(args.to, args.item, args.lot).onHand += args.qty;
        return recorded(source.onHand);
      },
      count: async (args) => {
        calls.push(["count", args]);
        requireLot(args.location, args.item, args.lot);
        const key = row(args.location, args.item, args.lot);
        const expected = key.onHand;
        key.onHand = args.countedQty;
        return { ...recorded(key.onHand), decision: "self_approved", expected, variance: args.countedQty - expected };
      },
      pickLine: async (args) => {
        calls.push(["pickLine", args]);
        const lot = args.lot ?? line(args.line).lot;
        requireLot(args.location, args.item, lot);
        const key = row(args.location, args.item, lot);
        key.onHand -= args.qty;
        return recorded(key.onHand);
      },
      shortPick: async (args) => {
        calls.push(["shortPick", args]);
        const picked = line(args.line);
        const lot = picked.lot ?? args.lot;
        requireLot(picked.location, picked.item, lot);
        return recorded(row(picked.location, picked.item, lot).onHand);
      },
    },
  };
}
