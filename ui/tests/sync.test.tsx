// Sync status as seen on the demo: the pending count took about 30 s to show a new event
// offline, and "Sync now" said "Sync started." even when the round it started failed.

import { act, fireEvent, render, screen } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { App } from "../src/App";
import type { AppStatus, SyncStatus } from "../src/contract";
import { SyncPanel } from "../src/screens/SyncPanel";
import { fakeBackend, fakeResolve, makeEnv, pressKey, renderScreen } from "./fake";

const PROFILE = { id: "p", label: "Main", serverUrl: "https://aisle.example", tenant: "t", warehouse: "W1", device: "d" };
const STATUS: AppStatus = {
  appVersion: "0.1.0", eventVersion: 1, storeSchemaVersion: 1, profile: PROFILE, demoAvailable: true, demo: false, demoUsers: [],
  user: { id: "u", name: "Ana", badge: "0042", role: "picker" },
};

describe("sync status", () => {
  it("shows a recorded event in the pending count at once, without waiting for the poll", async () => {
    let pending = 0;
    const backend = fakeBackend({
      appStatus: async () => STATUS,
      syncStatus: async () => ({ online: false, pending, quarantined: 0, live: false, pulledNew: 0, masterChanged: 0 }),
      session: async () => ({ user: STATUS.user, idleTimeoutMinutes: 5 }),
      resolveScan: fakeResolve(),
      receive: async () => {
        pending += 1;
        return { eventId: "e", onHand: 5, notices: [] };
      },
    });
    const { env } = makeEnv(backend);
    render(<App env={env} />);
    await screen.findByText("0 pending");
    pressKey("1");
    await screen.findByText("Scan the location to receive into.");
    act(() => env.scans.publish("L:A-01-01"));
    await screen.findByText("Scan the item.");
    act(() => env.scans.publish("S:BOLT-M6"));
    const qty = (await screen.findByLabelText("Quantity")) as HTMLInputElement;
    fireEvent.input(qty, { target: { value: "5" } });
    pressKey("Enter");
    await screen.findByText("Press Enter to receive.");
    pressKey("Enter");
    await screen.findByText(/Received 5 × BOLT-M6/);
    // The poll is every 15 s; the count must not wait for it.
    await screen.findByText("1 pending", {}, { timeout: 500 });
  });

  it("says that the round Sync now started failed, with the engine's reason", async () => {
    const before: SyncStatus = { online: true, pending: 2, quarantined: 0, live: false, pulledNew: 0, masterChanged: 0, lastSuccessMs: 1_000 };
    let now: SyncStatus = before;
    const syncNow = vi.fn(async () => {
      setTimeout(() => {
        now = { ...before, online: false, lastError: "server unreachable", lastErrorMs: 2_000 };
      }, 5);
      return null;
    });
    const ui = renderScreen(<SyncPanel status={before} onBack={() => {}} pollMs={10} />, fakeBackend({ syncNow, syncStatus: async () => now }));
    ui.key("Enter");
    await screen.findByText("Sync failed.");
    expect(screen.getByText("server unreachable")).toBeTruthy();
    expect(ui.sounds.at(-1)).toBe("error");
  });

  it("says that the round succeeded once it did", async () => {
    const before: SyncStatus = { online: true, pending: 2, quarantined: 0, live: false, pulledNew: 0, masterChanged: 0, lastSuccessMs: 1_000, lastError: "old", lastErrorMs: 500 };
    let now: SyncStatus = before;
    const syncNow = async () => {
      setTimeout(() => {
        now = { ...before, pending: 0, lastSuccessMs: 3_000 };
      }, 5);
      return null;
    };
    const ui = renderScreen(<SyncPanel status={before} onBack={() => {}} pollMs={10} />, fakeBackend({ syncNow, syncStatus: async () => now }));
    ui.key("Enter");
    await screen.findByText("Synced.");
  });
});
