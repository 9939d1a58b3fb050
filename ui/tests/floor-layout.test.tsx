// Regression (demo at 640 x 480): "Wrong location" was below the visible area and the status
// line scrolled away. jsdom cannot measure layout, so this pins the structure the CSS relies
// on: only the content scrolls (the header with status and pending never does), and on a
// floor screen only tables and long lists scroll, inside `.scroll`; the prompt, the scan
// field and the last message are never inside it. Screenshots check the pixels.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { render, screen } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { App } from "../src/App";
import type { AppStatus, PickListView, User } from "../src/contract";
import { BOLT, fakeBackend, fakeResolve, LOC_A, LOC_B, makeEnv, NUT, OFFLINE, pressKey } from "./fake";

const CSS = readFileSync(join(__dirname, "..", "src", "style.css"), "utf8");

/** The declarations of the first rule whose selector is exactly `selector`. */
function rule(selector: string): string {
  const escaped = selector.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`(?:^|\\n)\\s*${escaped}\\s*\\{([^}]*)\\}`).exec(CSS);
  return match?.[1] ?? "";
}

const PROFILE = { id: "p", label: "Main", serverUrl: "https://aisle.example", tenant: "t", warehouse: "W1", device: "dev-1" };
const ANA: User = { id: "u", name: "Ana", badge: "0042", role: "picker" };
const STATUS: AppStatus = { appVersion: "0.1.0", eventVersion: 1, storeSchemaVersion: 1, profile: PROFILE, user: ANA, demoAvailable: true, demo: false, demoUsers: [] };
const LIST: PickListView = {
  id: "pl-1",
  reference: "PL-1001",
  lines: [
    { id: 1, location: LOC_A, item: BOLT, qty: 5, picked: 0, done: false },
    { id: 2, location: LOC_B, item: NUT, qty: 4, picked: 0, done: false },
  ],
  notices: [],
  cancelled: false,
  putBacks: [],
};

function renderApp() {
  const backend = fakeBackend({
    appStatus: async () => STATUS,
    syncStatus: async () => OFFLINE,
    scannerSettings: async () => Promise.reject(new Error("none")),
    session: async () => ({ user: ANA, idleTimeoutMinutes: 5 }),
    resolveScan: fakeResolve(),
    pickLists: async () => [{ id: "pl-1", reference: "PL-1001", nLines: 2, nDone: 0, claimedHere: false, cancelled: false, putBackDue: 0 }],
    openPickList: async () => structuredClone(LIST),
    countTasks: async () => [{ id: "task-1", location: LOC_A, item: BOLT, reason: "short_pick" }],
    lookup: async () => ({
      resolved: { kind: "item", item: BOLT, packSize: 1 },
      rows: [{ location: LOC_A, item: BOLT, onHand: 12 }],
      history: [{ eventId: "e", kind: "received", hlcMs: 1_700_000_000_000, device: "dev-1", user: "Ana", summary: "received 12" }],
    }),
  });
  const { env } = makeEnv(backend);
  render(<App env={env} />);
  return { scan: (raw: string) => env.scans.publish(raw) };
}

/** Checks the invariant on the screen now showing. */
function expectFloorLayout(): void {
  const header = document.querySelector("header.top-bar");
  expect(header?.querySelector("[data-testid=sync-state]"), "the status is in the header").not.toBeNull();
  expect(header?.querySelector("[data-testid=sync-pending]"), "the pending count is in the header").not.toBeNull();
  const section = document.querySelector("main.content > section.screen");
  expect(section, "the screen is the content's own child").not.toBeNull();
  for (const table of Array.from(document.querySelectorAll("main table"))) {
    expect(table.closest(".scroll"), "a table scrolls inside itself").not.toBeNull();
  }
  for (const list of Array.from(document.querySelectorAll("main ol.choices"))) {
    expect(list.closest(".scroll"), "a list of choices scrolls inside itself").not.toBeNull();
  }
  for (const fixed of Array.from(document.querySelectorAll("main .prompt, main .field, main [data-testid=feedback]"))) {
    expect(fixed.closest(".scroll"), `${fixed.className} never scrolls away`).toBeNull();
  }
}

describe("floor screens at 640 x 480", () => {
  it("let only the content scroll, and inside a screen only `.scroll`", () => {
    expect(rule(".app"), "the app is exactly the window's height").toMatch(/height:\s*100vh/);
    expect(rule(".app")).toMatch(/overflow:\s*hidden/);
    expect(rule(".top-bar"), "the header never shrinks away").toMatch(/flex:\s*none/);
    expect(rule(".content"), "the content may shrink below its content's height").toMatch(/min-height:\s*0/);
    expect(rule(".screen"), "a screen fills the content and may shrink").toMatch(/min-height:\s*0/);
    expect(rule(".screen > .scroll"), "the scrolling part takes what is left").toMatch(/overflow:\s*auto/);
    expect(CSS, "small screens get a compact layout").toMatch(/@media \(max-height: 600px\)/);
    expect(rule(".table-fit"), "the variance table fits its columns").toMatch(/table-layout:\s*fixed/);
  });

  it("keep the header, prompt, scan field and a wrong-location error out of the scrolling part", async () => {
    const ui = renderApp();
    await screen.findByText("Receive");
    pressKey("2");
    await screen.findByText(/PL-1001 · 0\/2 lines/);
    expectFloorLayout();
    pressKey("Enter");
    await screen.findByText("Go to A-01-01 and scan the location.");
    ui.scan("L:B-02-03");
    await screen.findByText("Wrong location.");
    expectFloorLayout();
  });

  it("keep tables of count tasks and look-ups inside `.scroll`", async () => {
    const ui = renderApp();
    await screen.findByText("Receive");
    pressKey("4");
    await screen.findByText(/A-01-01 · BOLT-M6/);
    expectFloorLayout();
    pressKey("Escape");
    await screen.findByText("Receive");
    pressKey("5");
    await screen.findByText("Scan an item, a location or a lot.");
    ui.scan("S:BOLT-M6");
    await screen.findByText("On hand");
    expectFloorLayout();
  });
});
